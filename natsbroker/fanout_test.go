package natsbroker_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkFanout: one member on the first node writes b.N lines; 500 other
// members, all on that node or split 250 and 250 over two nodes joined by
// NATS, each read every line. It reports the lines delivered per second
// (to all members together) and the p50 and p99 delivery latency, from the
// write of a line to its reading by a member, the writer keeping at most 64
// lines ahead of the first member.
//
//	go test -run '^$' -bench Fanout -benchtime 2000x ./natsbroker
func BenchmarkFanout(b *testing.B) {
	for _, c := range []struct {
		name  string
		nodes int
	}{{"1node-500", 1}, {"2nodes-2x250", 2}} {
		b.Run(c.name, func(b *testing.B) { benchFanout(b, c.nodes, 500, false) })
	}
	// 1,000 members in all (the default -max-members): the writer, one
	// that never reads (disconnected once its queue has been full for the
	// room's SlowWait, a second) and 998 that read.
	b.Run("1node-1000-1stalled", func(b *testing.B) { benchFanout(b, 1, 998, true) })
}

func benchFanout(b *testing.B, nodes, members int, stalled bool) {
	ns := startNATS(b, 0)
	var nodeList []*node
	for i := range nodes {
		nodeList = append(nodeList, startNode(b, ns.ClientURL(), fmt.Sprintf("n%d", i+1), "fanout"))
	}
	sender := nodeList[0].join(b)
	if stalled {
		nodeList[0].join(b) // never read
	}
	readers := make([]*member, members)
	for i := range readers {
		readers[i] = nodeList[i*nodes/members].join(b)
	}
	lines := b.N
	lat := make([][]time.Duration, members)
	// The writer keeps at most window lines ahead of the first reader, so
	// that the latency is the room's, not that of a backlog in the socket
	// buffers.
	const window = 64
	progress := make(chan struct{}, lines)
	var wg sync.WaitGroup
	errs := make(chan error, members)
	b.ResetTimer()
	start := time.Now()
	for i, m := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]time.Duration, 0, lines)
			m.conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
			for range lines {
				s, err := m.r.ReadString('\n')
				if err != nil {
					errs <- err
					return
				}
				_, text, _ := strings.Cut(s, ") ")
				ns, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
				if err != nil {
					errs <- fmt.Errorf("line %q", s)
					return
				}
				got = append(got, time.Since(time.Unix(0, ns)))
				if i == 0 {
					progress <- struct{}{}
				}
			}
			lat[i] = got
		}()
	}
	for k := range lines {
		if k >= window {
			select {
			case <-progress:
			case <-time.After(time.Minute):
				b.Fatal("the first reader stopped reading")
			}
		}
		sender.send(strconv.FormatInt(time.Now().UnixNano(), 10) + "\n")
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(nodeList[0].chat.Members()), "members-left")
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}
