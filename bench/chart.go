package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart geometry.
const (
	chartWidth  = 12 * vg.Inch
	chartHeight = 5.5 * vg.Inch
	chartDPI    = 130
	barWidth    = 16  // points
	idleShare   = 0.3 // of the width, for the idle panel
)

// writeChart renders the run as a PNG at path: on the left, a grouped bar
// chart of each target's throughput per workload relative to raw (or to raw-tls,
// or else the first target, when raw did not run), the median of per-round ratios, which
// is steadier than absolute figures on a shared machine; on the right, the
// server RSS per idle connection.
func (r *Report) writeChart(path string) error {
	var load []string
	hasIdle := false
	for _, w := range r.Workloads {
		if w == "idle" {
			hasIdle = true
		} else {
			load = append(load, w)
		}
	}
	img := vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(chartDPI))
	dc := draw.New(img)
	left, right := dc, dc
	switch {
	case hasIdle && len(load) > 0:
		left = draw.Crop(dc, 0, -idleShare*chartWidth, 0, 0)
		right = draw.Crop(dc, (1-idleShare)*chartWidth+vg.Points(12), 0, 0, 0)
	case hasIdle:
		load = nil
	}
	if len(load) > 0 {
		p, err := r.loadPlot(load)
		if err != nil {
			return err
		}
		p.Draw(left)
	}
	if hasIdle {
		p, err := r.idlePlot()
		if err != nil {
			return err
		}
		p.Draw(right)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadPlot is the throughput panel.
func (r *Report) loadPlot(workloads []string) (*plot.Plot, error) {
	base := "raw"
	if !slices.Contains(r.Targets, base) {
		base = r.Targets[0]
		if slices.Contains(r.Targets, "raw-tls") { // a run of the TLS rows
			base = "raw-tls"
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Throughput, %s = 1.0 (median of per-round ratios; %s)", base, r.runLabel())
	p.Y.Label.Text = "ops/s ÷ " + base + "'s ops/s"
	p.Y.Min = 0
	p.NominalX(workloads...)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.Padding = vg.Points(2)
	grid := plotter.NewGrid()
	grid.Vertical.Width = 0
	p.Add(grid) // first, so the bars are drawn over it

	n := len(r.Targets)
	for i, t := range r.Targets {
		vals := make(plotter.Values, len(workloads))
		var xys plotter.XYs
		var labels []string
		for j, w := range workloads {
			if x, k := r.pairedRatio(w, t, base); k > 0 {
				vals[j] = x
				xys = append(xys, plotter.XY{X: float64(j), Y: x})
				labels = append(labels, strconv.FormatFloat(x, 'f', 2, 64))
			}
		}
		offset := vg.Points((float64(i) - float64(n-1)/2) * barWidth)
		if err := addBars(p, t, i, vals, 0, offset, xys, labels); err != nil {
			return nil, err
		}
	}
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	one.Color = color.Gray{Y: 96}
	p.Add(one)
	p.Y.Max *= 1.15 // room for the legend and the labels
	p.Y.Tick.Marker = plot.TickerFunc(ratioTicks)
	return p, nil
}

// ratioTicks marks every 0.25 and labels every 0.5 of a ratio axis.
func ratioTicks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for i := 0; float64(i)*0.25 <= hi && i < 400; i++ {
		v := float64(i) * 0.25
		if v < lo {
			continue
		}
		t := plot.Tick{Value: v}
		if i%2 == 0 {
			t.Label = strconv.FormatFloat(v, 'f', 1, 64)
		}
		ts = append(ts, t)
	}
	return ts
}

// idlePlot is the memory panel.
func (r *Report) idlePlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Server RSS per idle connection (%d conns)", r.Config.IdleConns)
	p.Y.Label.Text = "KiB per connection (median)"
	p.Y.Min = 0
	var names []string
	for _, t := range r.Targets {
		if r.findMedian("idle", t) != nil {
			names = append(names, t)
		}
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0.5
	p.X.Tick.Label.XAlign = text.XRight
	for x, t := range names {
		kib := r.findMedian("idle", t).RSSPerConn / 1024
		xy := plotter.XYs{{X: float64(x), Y: kib}}
		// The target's colour is its index among all targets, as on the left.
		i := slices.Index(r.Targets, t)
		if err := addBars(p, "", i, plotter.Values{kib}, float64(x), 0, xy,
			[]string{strconv.FormatFloat(kib, 'f', 1, 64)}); err != nil {
			return nil, err
		}
	}
	p.Y.Max *= 1.1
	return p, nil
}

// addBars adds one target's bars, in the target's colour, with a value label
// above each bar; legend, if not empty, names them in the legend.
func addBars(p *plot.Plot, legend string, color int, vals plotter.Values, xmin float64, offset vg.Length, xys plotter.XYs, labels []string) error {
	bc, err := plotter.NewBarChart(vals, vg.Points(barWidth))
	if err != nil {
		return err
	}
	bc.LineStyle.Width = 0
	bc.Color = plotutil.Color(color)
	bc.XMin = xmin
	bc.Offset = offset
	p.Add(bc)
	if legend != "" {
		p.Legend.Add(legend, bc)
	}
	if len(xys) == 0 {
		return nil
	}
	ls, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return err
	}
	for i := range ls.TextStyle {
		ls.TextStyle[i].XAlign = text.XCenter
		ls.TextStyle[i].Font.Size = vg.Points(6.5)
	}
	ls.Offset = vg.Point{X: offset, Y: vg.Points(2)}
	p.Add(ls)
	return nil
}

// runLabel says how many rounds of how long the figures come from.
func (r *Report) runLabel() string {
	rounds := "rounds"
	if r.Config.Rounds == 1 {
		rounds = "round"
	}
	return fmt.Sprintf("%d %s × %v", r.Config.Rounds, rounds, r.Config.Duration)
}
