package shipping

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/storefleet/storefleet/internal/money"
)

func TestTax(t *testing.T) {
	vat := TaxRate{Title: "VAT", PPM: 200_000}
	gst := TaxRate{Title: "GST", PPM: 50_000}
	qst := TaxRate{Title: "QST", PPM: 99_750, Compound: true}
	for _, tc := range []struct {
		name     string
		amount   money.Amount
		rates    []TaxRate
		included bool
		want     []money.Amount
	}{
		{"excluded", 1999, []TaxRate{{PPM: 72_500}}, false, []money.Amount{145}}, // 144.9275
		{"included", 1200, []TaxRate{vat}, true, []money.Amount{200}},
		{"included rounds", 1000, []TaxRate{vat}, true, []money.Amount{167}}, // 166.67
		{"half up", 10, []TaxRate{{PPM: 50_000}}, false, []money.Amount{1}},  // 0.5
		{"below half", 10, []TaxRate{{PPM: 49_999}}, false, []money.Amount{0}},
		{"negative half away from zero", -10, []TaxRate{{PPM: 50_000}}, false, []money.Amount{-1}},
		{"JPY whole yen", 1500, []TaxRate{{PPM: 100_000}}, true, []money.Amount{136}}, // 136.36
		{"JPY excluded", 1234, []TaxRate{{PPM: 100_000}}, false, []money.Amount{123}}, // 123.4
		{"two simple rates", 10000, []TaxRate{gst, {PPM: 70_000}}, false, []money.Amount{500, 700}},
		// Quebec before 2013: QST on price plus GST. 100.00 → GST 5.00, QST 9.975% of 105.00 = 10.47375.
		{"compound excluded", 10000, []TaxRate{gst, qst}, false, []money.Amount{500, 1047}},
		// The same, included: 115.47375 total is 100 net.
		{"compound included", 11547, []TaxRate{gst, qst}, true, []money.Amount{500, 1047}},
		{"harmonized is one rate", 11300, []TaxRate{{Title: "HST", PPM: 130_000}}, true, []money.Amount{1300}},
		{"two simple included", 11200, []TaxRate{gst, {PPM: 70_000}}, true, []money.Amount{500, 700}},
		{"no rates", 1000, nil, false, []money.Amount{}},
		{"zero amount", 0, []TaxRate{vat}, true, []money.Amount{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Tax(tc.amount, tc.rates, tc.included)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Tax(%d, %+v, %v) mismatch (-want +got):\n%s", tc.amount, tc.rates, tc.included, diff)
			}
		})
	}
}

func TestTaxRateString(t *testing.T) {
	for ppm, want := range map[int64]string{200_000: "0.2", 72_500: "0.0725", 0: "0", 1_000_000: "1", 99_750: "0.09975"} {
		if got := (TaxRate{PPM: ppm}).String(); got != want {
			t.Errorf("TaxRate{PPM: %d}.String() = %q, want %q", ppm, got, want)
		}
	}
	for s, want := range map[string]int64{"0.2": 200_000, "0.0725": 72_500, "1": 1_000_000, "0": 0} {
		if got, err := parsePPM(s); err != nil || got != want {
			t.Errorf("parsePPM(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"-0.1", "1.5", "0.00000001", "abc", ""} {
		if got, err := parsePPM(s); err == nil {
			t.Errorf("parsePPM(%q) = %d, want an error", s, got)
		}
	}
}
