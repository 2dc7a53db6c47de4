package money

import (
	"testing"

	"github.com/storefleet/storefleet/internal/errs"
)

func TestParseAndFormat(t *testing.T) {
	usd, jpy, bhd := MustCurrency("USD"), MustCurrency("jpy"), MustCurrency("BHD")
	if usd.Digits != 2 || jpy.Digits != 0 || bhd.Digits != 3 {
		t.Fatalf("digits USD %d, JPY %d, BHD %d; want 2, 0, 3", usd.Digits, jpy.Digits, bhd.Digits)
	}
	for _, tc := range []struct {
		cur    Currency
		in     string
		want   Amount
		format string
	}{
		{usd, "19.99", 1999, "19.99"},
		{usd, "19.9", 1990, "19.90"},
		{usd, "5", 500, "5.00"},
		{usd, " 0.10 ", 10, "0.10"},
		{usd, "0", 0, "0.00"},
		{usd, "19.990", 1999, "19.99"},
		{jpy, "1500", 1500, "1500"},
		{jpy, "1500.0", 1500, "1500"},
		{bhd, "1.005", 1005, "1.005"},
	} {
		got, err := tc.cur.Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s.Parse(%q) = %d, %v; want %d", tc.cur.Code, tc.in, got, err, tc.want)
		}
		if f := tc.cur.Format(got); f != tc.format {
			t.Errorf("%s.Format(%d) = %q, want %q", tc.cur.Code, got, f, tc.format)
		}
	}
	for _, tc := range []struct {
		cur Currency
		in  string
	}{
		{usd, "19.999"}, {jpy, "1500.5"}, {usd, "-1"}, {usd, ""}, {usd, "abc"}, {usd, "1e3"},
		{usd, "1,000.00"}, {usd, "$5"}, {usd, "NaN"}, {usd, "Infinity"}, {usd, "9999999999999999999999"},
	} {
		if got, err := tc.cur.Parse(tc.in); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s.Parse(%q) = %d, %v; want an Invalid error", tc.cur.Code, tc.in, got, err)
		}
	}
	if _, err := ParseCurrency("XYZ1"); !errs.Is(err, errs.Invalid) {
		t.Errorf("ParseCurrency(XYZ1) = %v, want Invalid", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"19.99", "0", "1e3", "-0", "00001.10", ".5", "5.", "1_000"} {
		f.Add(s)
	}
	usd := MustCurrency("USD")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := usd.Parse(s)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("Parse(%q) error %v is not Invalid", s, err)
			}
			return
		}
		if a < 0 || a > Max {
			t.Fatalf("Parse(%q) = %d, out of range", s, a)
		}
		// What Format writes, Parse reads back to the same amount.
		if b, err := usd.Parse(usd.Format(a)); err != nil || b != a {
			t.Fatalf("Parse(Format(%d)) = %d, %v", a, b, err)
		}
	})
}
