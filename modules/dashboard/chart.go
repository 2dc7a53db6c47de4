package dashboard

import (
	"fmt"
	"math"
	"strings"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/orders"
)

// The sales chart is inline SVG drawn here, in Go: bars for each day's
// revenue against the left axis, dots joined by a line for its orders
// against the right one, and the same numbers in a table for screen readers
// (the SVG itself is aria-hidden). No script, nothing to download.

// Chart geometry, in SVG user units; the SVG scales to its box.
const (
	chartW      = 720
	chartH      = 240
	chartLeft   = 64 // room for the revenue axis labels
	chartRight  = 40 // room for the orders axis labels
	chartTop    = 12
	chartBottom = 28 // room for the date labels
)

// chart is a drawn chart, ready for the template.
type chart struct {
	W, H        int
	Currency    string
	Bars        []bar
	Line        string // the orders polyline's points
	Dots        []dot
	RevenueAxis []tick // left
	OrdersAxis  []tick // right
	DateAxis    []tick // bottom
	Days        []chartDay
	X0, X1      float64 // the plot area's left and right
	Y0, Y1      float64 // its top and bottom
	TotalOrders int64
	Total       string
	Empty       bool
}

type bar struct {
	X, Y, W, H float64
	Label      string // the tooltip
}

type dot struct{ X, Y float64 }

type tick struct {
	X, Y  float64
	Label string
}

// chartDay is a row of the table under the chart.
type chartDay struct {
	Date    string
	Orders  int64
	Revenue string
}

// newChart draws days of sales in currency cur.
func newChart(days []orders.DaySales, cur money.Currency) chart {
	c := chart{W: chartW, H: chartH, Currency: cur.Code,
		X0: chartLeft, X1: chartW - chartRight, Y0: chartTop, Y1: chartH - chartBottom}
	var maxRev money.Amount
	var maxOrders, total int64
	var sum money.Amount
	for _, d := range days {
		maxRev = max(maxRev, d.Revenue)
		maxOrders = max(maxOrders, d.Orders)
		total += d.Orders
		sum += d.Revenue
	}
	c.TotalOrders, c.Total, c.Empty = total, cur.Format(sum), total == 0
	revTop := niceCeil(float64(maxRev) / math.Pow10(cur.Digits)) // in major units
	ordTop := niceCeil(float64(maxOrders))
	plotH := c.Y1 - c.Y0
	n := max(len(days), 1)
	slot := (c.X1 - c.X0) / float64(n)
	var pts []string
	for i, d := range days {
		x := c.X0 + slot*float64(i)
		rev := float64(d.Revenue) / math.Pow10(cur.Digits)
		h := plotH * rev / revTop
		date := d.Day.Format("2 Jan")
		c.Bars = append(c.Bars, bar{X: round1(x + slot*0.15), Y: round1(c.Y1 - h), W: round1(slot * 0.7), H: round1(h),
			Label: fmt.Sprintf("%s: %s %s, %d orders", date, cur.Format(d.Revenue), cur.Code, d.Orders)})
		dy := c.Y1 - plotH*float64(d.Orders)/ordTop
		dt := dot{X: round1(x + slot/2), Y: round1(dy)}
		c.Dots = append(c.Dots, dt)
		pts = append(pts, fmt.Sprintf("%g,%g", dt.X, dt.Y))
		// A date under every seventh day, counted back from today.
		if (len(days)-1-i)%7 == 0 {
			c.DateAxis = append(c.DateAxis, tick{X: round1(x + slot/2), Y: c.Y1 + 18, Label: date})
		}
		c.Days = append(c.Days, chartDay{Date: d.Day.Format("Mon 2 Jan"), Orders: d.Orders, Revenue: cur.Format(d.Revenue)})
	}
	c.Line = strings.Join(pts, " ")
	for i := 0; i <= 4; i++ {
		y := round1(c.Y1 - plotH*float64(i)/4)
		c.RevenueAxis = append(c.RevenueAxis, tick{X: c.X0 - 8, Y: y, Label: shortNumber(revTop * float64(i) / 4)})
		c.OrdersAxis = append(c.OrdersAxis, tick{X: c.X1 + 8, Y: y, Label: shortNumber(ordTop * float64(i) / 4)})
	}
	return c
}

// niceCeil rounds v up to a number that divides into four readable ticks
// (1, 2, 4, 5 or 8 times a power of ten); at least 4.
func niceCeil(v float64) float64 {
	if v <= 4 {
		return 4
	}
	p := math.Pow10(int(math.Floor(math.Log10(v))))
	for _, m := range []float64{1, 2, 4, 5, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// shortNumber writes an axis label: 1200 → "1.2k".
func shortNumber(v float64) string {
	switch {
	case v >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case v >= 1e4:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	}
	return trimZero(fmt.Sprintf("%.1f", v))
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

func round1(v float64) float64 { return math.Round(v*10) / 10 }
