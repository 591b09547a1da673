// Command plot renders the load test's steps (go run ./load -data FILE) as
// an SVG of latency against offered rate: p50 (dashed) and p99 (solid) of
// the read mix for the example and the ceiling in each mode, log-log, with
// the p99 gate drawn. Standard library only.
//
//	cd bench && go run ./load/plot -in plots/load.json -out plots/load.svg
package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"slices"
	"strings"
)

type step struct {
	Mode        string  `json:"mode"`
	Arm         string  `json:"arm"`
	OfferedRate int     `json:"offered_rate"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	Pass        bool    `json:"pass"`
}

type data struct {
	Cores  int     `json:"cores"`
	Step   string  `json:"step"`
	P99Max float64 `json:"p99_gate_ms"`
	Smoke  bool    `json:"smoke"`
	Time   string  `json:"time"`
	Steps  []step  `json:"steps"`
}

func main() {
	in := flag.String("in", "plots/load.json", "steps written by go run ./load -data")
	out := flag.String("out", "plots/load.svg", "SVG to write")
	arms := flag.String("arms", "read mix", "plot the arms whose name contains this (empty: all)")
	flag.Parse()
	if err := run(*in, *out, *arms); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

// curve is one arm in one mode.
type curve struct {
	name  string
	color string
	steps []step
}

func run(in, out, filter string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var d data
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if d.P99Max == 0 {
		d.P99Max = 50
	}
	byKey := map[string]*curve{}
	var curves []*curve
	for _, s := range d.Steps {
		if filter != "" && !strings.Contains(s.Arm, filter) {
			continue
		}
		k := s.Mode + ", " + s.Arm
		c := byKey[k]
		if c == nil {
			c = &curve{name: k}
			byKey[k] = c
			curves = append(curves, c)
		}
		c.steps = append(c.steps, s)
	}
	if len(curves) == 0 {
		return fmt.Errorf("%s: no steps of arms matching %q", in, filter)
	}
	// One hue per mode: dark for the example, light for the ceiling.
	palette := [][2]string{{"#1f4e9c", "#7fb2e5"}, {"#b2182b", "#f4a582"}, {"#1b7837", "#a6dba0"}, {"#762a83", "#c2a5cf"}}
	var modes []string
	for _, c := range curves {
		mode, arm, _ := strings.Cut(c.name, ", ")
		i := slices.Index(modes, mode)
		if i < 0 {
			modes = append(modes, mode)
			i = len(modes) - 1
		}
		light := 0
		if strings.Contains(arm, "ceiling") {
			light = 1
		}
		c.color = palette[i%len(palette)][light]
		// A search revisits no rate, but bisection visits them out of
		// order: draw each curve by rising rate. Rounds of the same arm
		// share a curve: a rate tried in several is drawn at the medians
		// of its p50 and p99, and passes when most of its steps did.
		slices.SortFunc(c.steps, func(a, b step) int { return cmp.Compare(a.OfferedRate, b.OfferedRate) })
		c.steps = mergeRates(c.steps)
	}
	svg := render(d, curves)
	return os.WriteFile(out, []byte(svg), 0o644)
}

// mergeRates replaces the steps (sorted by rate) that share an offered
// rate by one at their median p50 and p99.
func mergeRates(steps []step) []step {
	var out []step
	for i := 0; i < len(steps); {
		j := i
		for j < len(steps) && steps[j].OfferedRate == steps[i].OfferedRate {
			j++
		}
		group := steps[i:j]
		m := group[0]
		if len(group) > 1 {
			p50s, p99s, pass := make([]float64, len(group)), make([]float64, len(group)), 0
			for k, s := range group {
				p50s[k], p99s[k] = s.P50ms, s.P99ms
				if s.Pass {
					pass++
				}
			}
			m.P50ms, m.P99ms, m.Pass = medianOf(p50s), medianOf(p99s), 2*pass > len(group)
		}
		out = append(out, m)
		i = j
	}
	return out
}

func medianOf(v []float64) float64 {
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

const (
	width, height                        = 900, 560
	left, right, top, bottom             = 80, 250, 50, 60
	plotW, plotH                         = width - left - right, height - top - bottom
	minLatency, maxLatencyFloor, minRate = 0.1, 1000.0, 10.0
)

// logScale maps v in [lo, hi] onto [0, 1] logarithmically.
func logScale(v, lo, hi float64) float64 {
	v = math.Min(math.Max(v, lo), hi)
	return (math.Log10(v) - math.Log10(lo)) / (math.Log10(hi) - math.Log10(lo))
}

func render(d data, curves []*curve) string {
	xlo, xhi := math.Inf(1), 0.0
	yhi := maxLatencyFloor
	for _, c := range curves {
		for _, s := range c.steps {
			xlo = math.Min(xlo, float64(s.OfferedRate))
			xhi = math.Max(xhi, float64(s.OfferedRate))
			yhi = math.Max(yhi, s.P99ms)
		}
	}
	xlo = math.Pow(10, math.Floor(math.Log10(math.Max(xlo, minRate))))
	xhi = math.Pow(10, math.Ceil(math.Log10(math.Max(xhi, xlo*10))))
	ylo := minLatency
	yhi = math.Pow(10, math.Ceil(math.Log10(yhi)))
	x := func(v float64) float64 { return left + logScale(v, xlo, xhi)*plotW }
	y := func(v float64) float64 { return top + (1-logScale(v, ylo, yhi))*plotH }

	var w strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&w, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	title := fmt.Sprintf("Read mix: latency against offered rate (%d cores, %s steps)", d.Cores, d.Step)
	if d.Smoke {
		title += " — SMOKE RUN, not a measurement"
	}
	p(`<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))

	// Grid and axes: decades, with 2 and 5 between.
	for dec := xlo; dec <= xhi*1.0001; dec *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := dec * m
			if v > xhi*1.0001 {
				break
			}
			stroke := "#eee"
			if m == 1 {
				stroke = "#ccc"
			}
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", x(v), top, x(v), top+plotH, stroke)
			p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(v), top+plotH+16, num(v))
		}
	}
	for dec := ylo; dec <= yhi*1.0001; dec *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := dec * m
			if v > yhi*1.0001 {
				break
			}
			stroke := "#eee"
			if m == 1 {
				stroke = "#ccc"
			}
			p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", left, y(v), left+plotW, y(v), stroke)
			p(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, num(v))
		}
	}
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	p(`<text x="%d" y="%d" text-anchor="middle">offered rate (requests/s, log scale)</text>`+"\n", left+plotW/2, height-18)
	p(`<text transform="translate(22 %d) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`+"\n", top+plotH/2)

	// The gate.
	gy := y(d.P99Max)
	p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#000" stroke-width="1.5" stroke-dasharray="2 3"/>`+"\n", left, gy, left+plotW, gy)
	p(`<text x="%d" y="%.1f" text-anchor="end" font-size="11">p99 gate %s ms</text>`+"\n", left+plotW-4, gy-4, num(d.P99Max))

	for _, c := range curves {
		for _, q := range []struct {
			dash string
			val  func(step) float64
		}{{"6 4", func(s step) float64 { return s.P50ms }}, {"", func(s step) float64 { return s.P99ms }}} {
			var pts []string
			for _, s := range c.steps {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(s.OfferedRate)), y(q.val(s))))
			}
			dash := ""
			if q.dash != "" {
				dash = fmt.Sprintf(` stroke-dasharray="%s"`, q.dash)
			}
			p(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), c.color, dash)
		}
		// p99 markers: filled where the step passed, hollow where it failed.
		for _, s := range c.steps {
			fill := c.color
			if !s.Pass {
				fill = "white"
			}
			p(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s" stroke="%s" stroke-width="1.5"><title>%s: %d req/s, p50 %.2f ms, p99 %.2f ms</title></circle>`+"\n",
				x(float64(s.OfferedRate)), y(s.P99ms), fill, c.color, html.EscapeString(c.name), s.OfferedRate, s.P50ms, s.P99ms)
		}
	}

	// Legend.
	lx, ly := left+plotW+16, top+8
	for i, c := range curves {
		yy := ly + i*22
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", lx, yy, lx+24, yy, c.color)
		p(`<text x="%d" y="%d">%s</text>`+"\n", lx+30, yy+4, html.EscapeString(c.name))
	}
	yy := ly + len(curves)*22 + 12
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="2"/><text x="%d" y="%d">p99 (● held, ○ failed)</text>`+"\n", lx, yy, lx+24, yy, lx+30, yy+4)
	yy += 20
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="2" stroke-dasharray="6 4"/><text x="%d" y="%d">p50</text>`+"\n", lx, yy, lx+24, yy, lx+30, yy+4)
	if d.Time != "" {
		p(`<text x="%d" y="%d" font-size="10" fill="#666">%s</text>`+"\n", lx, yy+24, html.EscapeString(d.Time))
	}
	p("</svg>\n")
	return w.String()
}

// num formats an axis value without trailing zeros.
func num(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%gk", v/1000)
	}
	return fmt.Sprintf("%g", math.Round(v*1000)/1000)
}
