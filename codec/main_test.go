package codec_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain shortens the fuzzer's default time for minimizing a new input
// from 60 s to 5 s. FuzzGobFirewall decodes each input six ways, which is
// slow for the seeds of 10 to 20 KB that its mutations start from, so that
// minimizing one new input took most of a minute and a three-minute run
// spent nearly all its time minimizing. -test.fuzzminimizetime still wins.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		flag.Set("test.fuzzminimizetime", "5s")
	}
	os.Exit(m.Run())
}
