package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// benchSchema names the layout of the bench's JSON report; it changes when
// a field changes meaning or goes away.
const benchSchema = "storefleet-bench/1"

// Row statuses.
const (
	benchOK      = "ok"
	benchSkipped = "skipped"
	benchFailed  = "failed"
)

// benchRow is one line of the table and one entry of the JSON report: a
// scenario's variant. Timed steps (provisioning, migration) fill Seconds;
// load runs fill the request fields.
type benchRow struct {
	Scenario string `json:"scenario"` // provisioning, migration, storefront, baseline, admin, checkout, jobs
	Variant  string `json:"variant"`
	Status   string `json:"status"` // ok, skipped or failed
	Note     string `json:"note,omitempty"`
	Stores   int    `json:"stores"` // stores the step touched

	// Timed steps.
	Seconds float64 `json:"seconds,omitempty"`

	// Load runs (and the per-store times of the provisioning summary).
	TargetRate  float64        `json:"target_rate,omitempty"` // requests per second asked; 0 for maximum throughput
	Concurrency int            `json:"concurrency,omitempty"` // requests in flight at maximum throughput
	DurationS   float64        `json:"duration_s,omitempty"`
	Requests    uint64         `json:"requests,omitempty"`
	Throughput  float64        `json:"req_per_s,omitempty"` // successful responses per second
	P50ms       float64        `json:"p50_ms,omitempty"`
	P90ms       float64        `json:"p90_ms,omitempty"`
	P99ms       float64        `json:"p99_ms,omitempty"`
	Maxms       float64        `json:"max_ms,omitempty"`
	Errors      uint64         `json:"errors"`
	ErrorSample []string       `json:"error_sample,omitempty"`
	StatusCodes map[string]int `json:"status_codes,omitempty"`
	CacheHits   *float64       `json:"cache_hit_ratio,omitempty"` // share of responses with X-Cache: hit
	Ratio       *float64       `json:"ratio_to_baseline,omitempty"`
	PeakRSS     int64          `json:"server_peak_rss_bytes,omitempty"`

	// Checkout runs: orders, sold-out answers and oversold units.
	Checkout *benchCheckoutResult `json:"checkout,omitempty"`
}

// benchReport is the whole run, as written to the JSON file.
type benchReport struct {
	Schema     string         `json:"schema"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Settings   benchSettings  `json:"settings"`
	Machine    benchMachine   `json:"machine"`
	Server     benchServerEnv `json:"server"`
	Data       benchDataInfo  `json:"data"`
	Rows       []benchRow     `json:"rows"`
	// ProvisionMs is each store's provisioning time, in order: the curve.
	ProvisionMs []float64 `json:"provision_ms"`
}

type benchSettings struct {
	Profile           string  `json:"profile"` // default or large
	Seed              uint64  `json:"seed"`
	Stores            int     `json:"stores"`
	ProductsPerStore  int     `json:"products_per_store"`
	CustomersPerStore int     `json:"customers_per_store"`
	OrdersPerStore    int     `json:"orders_per_store"`
	Checkouts         int     `json:"checkouts"`
	ExtraStores       int     `json:"extra_stores"`
	Duration          string  `json:"duration"`
	Rate              float64 `json:"rate"`
	Concurrency       int     `json:"concurrency"`
	Parallel          int     `json:"parallel"`
	Database          string  `json:"database"` // the bench's own database, password hidden
}

type benchMachine struct {
	CPUs     int    `json:"cpus"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Go       string `json:"go"`
	Postgres string `json:"postgres,omitempty"`
	// The 1, 5 and 15 minute load averages before and after the run: other
	// work on the machine skews every figure.
	LoadBefore string `json:"load_average_before,omitempty"`
	LoadAfter  string `json:"load_average_after,omitempty"`
}

// benchLoadAverage is /proc/loadavg's first three fields; empty where there is none.
func benchLoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

type benchServerEnv struct {
	Mode     string `json:"mode"`
	LogLevel string `json:"log_level"`
	MaxConns int    `json:"database_max_conns"`
	Log      string `json:"log,omitempty"`
	Baseline string `json:"baseline"`
}

type benchDataInfo struct {
	Stores      int         `json:"stores"`       // stores with a catalog
	ExtraStores int         `json:"extra_stores"` // stores provisioned empty
	Counts      benchCounts `json:"counts"`
	Orders      string      `json:"orders"`
	Seconds     float64     `json:"seconds"`
}

// benchColumns are the table's columns, in order.
var benchColumns = []string{"SCENARIO", "VARIANT", "STORES", "RESULT", "P50", "P90", "P99", "ERRORS", "VS BASELINE", "PEAK RSS", "NOTE"}

// writeBenchTable prints rows as an aligned table.
func writeBenchTable(w io.Writer, rows []benchRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(benchColumns, "\t"))
	for _, r := range rows {
		cells := []string{r.Scenario, r.Variant, benchCell(r.Stores > 0, fmt.Sprint(r.Stores)), r.result(),
			benchCell(r.P50ms > 0, benchFmtMs(r.P50ms)), benchCell(r.P90ms > 0, benchFmtMs(r.P90ms)), benchCell(r.P99ms > 0, benchFmtMs(r.P99ms)),
			benchCell(r.Status == benchOK, fmt.Sprint(r.Errors)), "-", benchCell(r.PeakRSS > 0, benchFmtBytes(r.PeakRSS)), r.tableNote()}
		if r.Ratio != nil {
			cells[8] = fmt.Sprintf("%.2fx", *r.Ratio)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// result is the row's headline figure: a rate for load runs, a time for
// timed steps, the status otherwise.
func (r benchRow) result() string {
	switch {
	case r.Status != benchOK:
		return r.Status
	case r.Checkout != nil:
		return fmt.Sprintf("%.1f orders/s", r.Throughput)
	case r.Requests > 0:
		return fmt.Sprintf("%.1f req/s", r.Throughput)
	default:
		return benchFmtSeconds(r.Seconds)
	}
}

// tableNote is the row's note on one line, with the cache's hit ratio
// where pages came from the page cache; the JSON has it whole.
func (r benchRow) tableNote() string {
	note := r.Note
	if r.CacheHits != nil {
		note = strings.TrimPrefix(note+fmt.Sprintf("; page cache hits %.1f%%", *r.CacheHits*100), "; ")
	}
	note = strings.Join(strings.Fields(note), " ")
	if len(note) > 160 {
		note = note[:157] + "..."
	}
	return note
}

func benchCell(ok bool, s string) string {
	if !ok {
		return "-"
	}
	return s
}

func benchFmtMs(v float64) string {
	switch {
	case v >= 10_000:
		return fmt.Sprintf("%.1f s", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

func benchFmtSeconds(s float64) string {
	if s < 1 {
		return benchFmtMs(s * 1000)
	}
	return fmt.Sprintf("%.2f s", s)
}

func benchFmtBytes(n int64) string {
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

func benchMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// writeBenchJSON writes the report to path, making its folder.
func writeBenchJSON(path string, rep *benchReport) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	return nil
}
