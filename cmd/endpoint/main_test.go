package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binPath is the endpoint binary that TestMain builds for the tests to run.
var binPath string

// raceEnabled is set by race_test.go when the tests run with -race; the binary
// is then built with -race too, so that a data race in it fails the tests.
var raceEnabled bool

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "endpoint-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "endpoint")
	if err := build(binPath, "."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build builds the package pkg into the binary out.
func build(out, pkg string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("cannot build %s: %v", pkg, err)
	}
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, pkg)
	if output, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %v\n%s", args, err, output)
	}
	return nil
}
