package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The binaries that TestMain builds for the tests to run: the client, and the
// endpoint to run it against.
var clientBin, endpointBin string

// raceEnabled is set by race_test.go when the tests run with -race; the
// binaries are then built with -race too, so that a data race in them fails
// the tests.
var raceEnabled bool

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	clientBin = filepath.Join(dir, "client")
	endpointBin = filepath.Join(dir, "endpoint")
	for out, pkg := range map[string]string{clientBin: ".", endpointBin: "../endpoint"} {
		if err := build(out, pkg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
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

// binEnv is the environment the binaries run in. A binary built with -race
// sleeps a second before exiting, unless told otherwise; its races are
// reported all the same.
func binEnv() []string { return append(os.Environ(), "GORACE=atexit_sleep_ms=20") }
