// Command bench measures the endpoint library against peers that do the same
// job: a plain bufio server on the same wire (raw, the practical limit of the
// protocol in Go), net/rpc with gob, and gRPC-go.
//
// Every server runs in its own process on loopback, started by re-executing
// this binary in its hidden serve mode; the parent process drives all of them
// with the same load generator, interleaved over several rounds, and reports
// the median of each figure and the ratio of the endpoint to each peer.
//
// # Usage
//
//	cd bench && go run .                      # full run: 5 rounds of 2s per figure
//	cd bench && go run . -rounds 3 -duration 1s
//	cd bench && go run . -smoke               # every target and workload once, quickly
//	cd bench && go run . -targets endpoint -workloads seq,pipe -profile results/profiles
//	cd bench && go run . -baseline HEAD~3     # also the endpoint as of HEAD~3: row endpoint-base
//
// Results go to results/results.json (every round and the medians) and
// results/chart.png. BENCHMARKS.md at the repository root describes the method
// and the latest figures.
//
// # Adding a row
//
// A row of the results is a [Target]: a server (one of [servers]) and the
// client that drives it. To measure a new variant, such as a session-gob
// command, add a Conn implementation and one entry to [allTargets]; a Target
// may restrict itself to some workloads (see its Workloads field).
package main
