package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// replot prints the tables and draws the chart of a results file.
func replot(path, chart string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if rep.Config == nil {
		return fmt.Errorf("%s: no config: not a results file", path)
	}
	rep.summarize()
	rep.printTables(os.Stdout)
	if chart == "" {
		chart = filepath.Join(filepath.Dir(path), "chart.png")
	}
	if err := rep.writeChart(chart); err != nil {
		return err
	}
	fmt.Printf("\nWrote %s\n", chart)
	return nil
}
