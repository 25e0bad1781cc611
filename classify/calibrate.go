package classify

import (
	"fmt"
	"sort"
	"strings"
)

// Calibration maps the raw vote share of the top intent to the probability
// that the suggestion is right, as measured on real tickets. It is a
// monotone piecewise-linear curve through Points (raw, probability), flat
// beyond the ends; with no points it is the identity.
type Calibration struct {
	Points [][2]float64 `yaml:"points" json:"points"`
}

// Apply maps a raw vote share to a calibrated confidence.
func (c Calibration) Apply(raw float64) float64 {
	ps := c.Points
	if len(ps) == 0 {
		return raw
	}
	if raw <= ps[0][0] {
		return ps[0][1]
	}
	for i := 1; i < len(ps); i++ {
		if raw <= ps[i][0] {
			x0, y0, x1, y1 := ps[i-1][0], ps[i-1][1], ps[i][0], ps[i][1]
			if x1 == x0 {
				return y1
			}
			return y0 + (y1-y0)*(raw-x0)/(x1-x0)
		}
	}
	return ps[len(ps)-1][1]
}

func (c Calibration) validate() error {
	for i, p := range c.Points {
		if p[0] < 0 || p[0] > 1 || p[1] < 0 || p[1] > 1 {
			return fmt.Errorf("calibration point %d (%g, %g) is outside [0, 1]", i+1, p[0], p[1])
		}
		if i > 0 && (p[0] < c.Points[i-1][0] || p[1] < c.Points[i-1][1]) {
			return fmt.Errorf("calibration point %d (%g, %g) is below the one before: the curve must rise", i+1, p[0], p[1])
		}
	}
	return nil
}

// String writes the points as the catalog's YAML flow list.
func (c Calibration) String() string {
	var b strings.Builder
	b.WriteString("[")
	for i, p := range c.Points {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "[%.3f, %.3f]", p[0], p[1])
	}
	b.WriteString("]")
	return b.String()
}

// minBlock is the fewest examples an isotonic block averages: smaller
// blocks make a jagged curve from a handful of tickets.
const minBlock = 8

// FitIsotonic fits a monotone calibration to (raw confidence, right or
// wrong) pairs by pool-adjacent-violators, then smooths it into points at
// the blocks' mean confidences. Block accuracy is shrunk towards the overall
// accuracy by one pseudo-example, so a small all-right block does not claim
// certainty.
func FitIsotonic(pts []relPoint) Calibration {
	if len(pts) == 0 {
		return Calibration{}
	}
	sorted := append([]relPoint(nil), pts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].p < sorted[j].p })
	total := 0.0
	for _, p := range sorted {
		if p.correct {
			total++
		}
	}
	prior := total / float64(len(sorted))
	type block struct {
		sumX, sumY float64
		n          int
	}
	var bs []block
	// Start from chunks of minBlock, then merge violators.
	for i := 0; i < len(sorted); i += minBlock {
		var b block
		for _, p := range sorted[i:min(i+minBlock, len(sorted))] {
			b.sumX += p.p
			if p.correct {
				b.sumY++
			}
			b.n++
		}
		bs = append(bs, b)
	}
	mean := func(b block) float64 { return (b.sumY + prior) / float64(b.n+1) }
	for changed := true; changed; {
		changed = false
		for i := 0; i+1 < len(bs); i++ {
			if mean(bs[i]) >= mean(bs[i+1]) {
				bs[i].sumX += bs[i+1].sumX
				bs[i].sumY += bs[i+1].sumY
				bs[i].n += bs[i+1].n
				bs = append(bs[:i+1], bs[i+2:]...)
				changed = true
				break
			}
		}
	}
	var c Calibration
	for _, b := range bs {
		c.Points = append(c.Points, [2]float64{round(b.sumX / float64(b.n)), round(mean(b))})
	}
	return c
}
