package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// printTables writes the medians, the ratios and the goals as Markdown
// tables, ready to paste into BENCHMARKS.md.
func (r *Report) printTables(w io.Writer) {
	fmt.Fprintf(w, "\nLibrary %s; %s, %d CPUs, %s; load average %s at the start, %s at the end.\n",
		r.Library, r.Machine.CPUModel, r.Machine.CPUs, r.Machine.GoVersion, r.Machine.LoadStart, r.Machine.LoadEnd)
	if r.Config.Baseline != "" {
		fmt.Fprintf(w, "Baseline: %s is the endpoint server as of -baseline %s, commit %s.\n",
			baselineTarget, r.Config.Baseline, r.Config.BaselineCommit)
	}
	fmt.Fprintf(w, "\nMedians of %s (ops/s; latency in µs; idle in KiB of server RSS per connection):\n\n", r.runLabel())
	header := []string{"target"}
	for _, wl := range r.Workloads {
		switch wl {
		case "seq":
			header = append(header, "seq ops/s", "seq p50 µs", "seq p99 µs")
		case "idle":
			header = append(header, "idle KiB/conn")
		default:
			header = append(header, wl+" ops/s")
		}
	}
	var rows [][]string
	for _, t := range r.Targets {
		row := []string{t}
		for _, wl := range r.Workloads {
			m := r.findMedian(wl, t)
			switch {
			case wl == "seq" && m == nil:
				row = append(row, "—", "—", "—")
			case m == nil:
				row = append(row, "—")
			case wl == "seq":
				row = append(row, thousands(m.OpsPerSec),
					strconv.FormatFloat(m.P50Micros, 'f', 1, 64),
					strconv.FormatFloat(m.P99Micros, 'f', 1, 64))
			case wl == "idle":
				row = append(row, strconv.FormatFloat(m.RSSPerConn/1024, 'f', 1, 64))
			default:
				row = append(row, thousands(m.OpsPerSec))
			}
		}
		rows = append(rows, row)
	}
	writeTable(w, header, rows)

	header = append([]string{"peer"}, r.Workloads...)
	rows = nil
	for _, peer := range r.Targets {
		if peer == "endpoint" {
			continue
		}
		row := []string{peer}
		if peer == baselineTarget {
			row[0] += " (current ÷ baseline)"
		}
		found := false
		for _, wl := range r.Workloads {
			if x := r.findRatio(wl, "endpoint", peer); x != nil {
				row = append(row, strconv.FormatFloat(x.Ratio, 'f', 2, 64))
				found = true
			} else {
				row = append(row, "—")
			}
		}
		if found { // a row of dashes (no endpoint row in the run) says nothing
			rows = append(rows, row)
		}
	}
	if rows != nil {
		fmt.Fprintf(w, "\nRatio endpoint / peer (median of per-round ratios; above 1 means the endpoint is faster; for idle, its RSS per connection over the peer's, so below 1 is better):\n\n")
		writeTable(w, header, rows)
	}

	var variantLoads []string // the workloads some variant ratio was measured in
	for _, wl := range r.Workloads {
		if slices.ContainsFunc(variantRatios, func(v variantRatio) bool { return r.findRatio(wl, v.A, v.B) != nil }) {
			variantLoads = append(variantLoads, wl)
		}
	}
	rows = nil
	for _, v := range variantRatios {
		row := []string{v.A + " ÷ " + v.B + ": " + v.About}
		found := false
		for _, wl := range variantLoads {
			x := r.findRatio(wl, v.A, v.B)
			if x == nil {
				row = append(row, "—")
				continue
			}
			found = true
			cell := strconv.FormatFloat(x.Ratio, 'f', 2, 64)
			if x.Rounds > 1 && x.Max > 0 {
				cell += fmt.Sprintf(" (%.2f–%.2f)", x.Min, x.Max)
			}
			row = append(row, cell)
		}
		if found {
			rows = append(rows, row)
		}
	}
	if rows != nil {
		fmt.Fprintf(w, "\nVariants of the endpoint server, and the TLS rows (median of per-round ratios; lowest–highest round in brackets; for idle, RSS per connection, so below 1 is less):\n\n")
		writeTable(w, append([]string{"ratio"}, variantLoads...), rows)
	}

	if slices.Contains(r.Workloads, "idle") {
		fmt.Fprintf(w, "\nIdle connections, per connection (medians; the Go runtime's figures are read after a GC):\n\n")
		rows = nil
		for _, t := range r.Targets {
			if m := r.findMedian("idle", t); m != nil {
				rows = append(rows, []string{t,
					strconv.FormatFloat(m.RSSPerConn/1024, 'f', 1, 64),
					strconv.FormatFloat(m.HeapPerConn/1024, 'f', 1, 64),
					strconv.FormatFloat(m.StackPerConn/1024, 'f', 1, 64),
					strconv.FormatFloat(m.GoroutinesPerConn, 'f', 1, 64)})
			}
		}
		writeTable(w, []string{"target", "RSS KiB", "Go heap KiB", "stacks KiB", "goroutines"}, rows)
	}

	fmt.Fprintf(w, "\nGoals:\n\n")
	rows = nil
	for _, g := range r.Goals {
		got := g.Got
		if got == "" {
			got = "—"
		}
		rows = append(rows, []string{g.Goal, got, g.Status})
	}
	writeTable(w, []string{"goal", "this run", "status"}, rows)
}

// writeTable writes a Markdown table with aligned columns.
func writeTable(w io.Writer, header []string, rows [][]string) {
	width := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, cell := range row {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, cell := range cells {
			pad := width[i] - len([]rune(cell))
			if i == 0 {
				b.WriteString(" " + cell + strings.Repeat(" ", pad) + " |")
			} else {
				b.WriteString(" " + strings.Repeat(" ", pad) + cell + " |")
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		if i == 0 {
			sep[i] = strings.Repeat("-", width[i])
		} else {
			sep[i] = strings.Repeat("-", width[i]-1) + ":"
		}
	}
	line(sep)
	for _, row := range rows {
		line(row)
	}
}

// thousands formats v rounded to an integer, with commas between thousands.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// progressLine describes one measurement in one line, for standard error.
func progressLine(k, total int, m *Measurement) string {
	head := fmt.Sprintf("[%*d/%d] round %d  load %4.1f  %-5s %-16s", len(strconv.Itoa(total)), k, total, m.Round, m.Load1, m.Workload, m.Target)
	switch {
	case !m.OK():
		return head + " FAILED: " + m.Error
	case m.Workload == "idle":
		return fmt.Sprintf("%s %8.1f KiB/conn  (RSS %.1f → %.1f MiB over %d conns; per conn: heap %.1f KiB, stacks %.1f KiB, %.1f goroutines)",
			head, m.RSSPerConn/1024, float64(m.RSSBefore)/(1<<20), float64(m.RSSAfter)/(1<<20), m.Ops,
			m.HeapPerConn/1024, m.StackPerConn/1024, m.GoroutinesPerConn)
	case m.Workload == "seq":
		return fmt.Sprintf("%s %12s ops/s  p50 %.1f µs  p99 %.1f µs", head, thousands(m.OpsPerSec), m.P50Micros, m.P99Micros)
	}
	return fmt.Sprintf("%s %12s ops/s", head, thousands(m.OpsPerSec))
}
