package main

import "fmt"

// sessionGobTarget is the name the session-gob row must have (see
// allTargets) for its goals to be judged.
const sessionGobTarget = "endpoint-sgob"

// A Goal is one of the project's performance targets, judged from a run.
type Goal struct {
	Goal   string `json:"goal"`
	Got    string `json:"got"`
	Status string `json:"status"` // "met", "missed" or "not measured"
}

// evalGoals judges the project's targets from the report's medians and ratios.
func evalGoals(r *Report) []Goal {
	var gs []Goal
	atLeast := func(goal, w, a, b string, want float64) {
		g := Goal{Goal: goal, Status: "not measured"}
		if x := r.findRatio(w, a, b); x != nil {
			g.Got = fmt.Sprintf("%.2f×", x.Ratio)
			g.Status = status(x.Ratio >= want)
		} else if a == sessionGobTarget {
			g.Got = "no " + sessionGobTarget + " row yet"
		}
		gs = append(gs, g)
	}
	atLeast("endpoint ≥ 0.9 × raw on seq", "seq", "endpoint", "raw", 0.9)
	atLeast("endpoint ≥ 0.9 × raw on conc", "conc", "endpoint", "raw", 0.9)
	atLeast("endpoint ≥ 0.9 × raw on pipe", "pipe", "endpoint", "raw", 0.9)
	atLeast("per-message GOB: endpoint ≥ 0.9 × raw on gob", "gob", "endpoint", "raw", 0.9)
	atLeast("session gob ≥ 2 × net/rpc on gob", "gob", sessionGobTarget, "netrpc", 2)
	atLeast("session gob ≥ 3 × gRPC on gob", "gob", sessionGobTarget, "grpc", 3)
	g := Goal{Goal: "endpoint ≤ 4 KiB RSS per idle connection", Status: "not measured"}
	if m := r.findMedian("idle", "endpoint"); m != nil {
		g.Got = fmt.Sprintf("%.1f KiB", m.RSSPerConn/1024)
		g.Status = status(m.RSSPerConn <= 4096)
	}
	gs = append(gs, g)
	atLeast("TLS: endpoint-tls ≥ 0.9 × raw-tls on seq", "seq", "endpoint-tls", "raw-tls", 0.9)
	atLeast("TLS: endpoint-tls ≥ 0.9 × raw-tls on conc", "conc", "endpoint-tls", "raw-tls", 0.9)
	atLeast("TLS: endpoint-tls ≥ 0.9 × raw-tls on pipe", "pipe", "endpoint-tls", "raw-tls", 0.9)
	g = Goal{Goal: "TLS: endpoint-tls RSS per idle connection ≤ raw-tls's", Status: "not measured"}
	if x := r.findRatio("idle", "endpoint-tls", "raw-tls"); x != nil {
		g.Got = fmt.Sprintf("%.2f×", x.Ratio)
		if a, b := r.findMedian("idle", "endpoint-tls"), r.findMedian("idle", "raw-tls"); a != nil && b != nil {
			g.Got += fmt.Sprintf(" (%.1f vs %.1f KiB)", a.RSSPerConn/1024, b.RSSPerConn/1024)
		}
		g.Status = status(x.Ratio <= 1)
	}
	return append(gs, g)
}

func status(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}
