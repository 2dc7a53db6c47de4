package shipping_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/tenant"
)

func newHarness(t testing.TB) *appstest.Harness {
	return appstest.New(t, func(db *tenant.DB) []apps.Resource { return []apps.Resource{shipping.NewService(db)} })
}

func ptr(s string) *string { return &s }

func mustZone(t *testing.T, svc *shipping.Service, st *tenant.Tenant, in shipping.ZoneInput) shipping.Zone {
	t.Helper()
	z, err := svc.CreateZone(context.Background(), st, in)
	if err != nil {
		t.Fatalf("CreateZone(%q) = %v", in.Name, err)
	}
	return z
}

func ratesIn(t *testing.T, h *appstest.Harness, st *tenant.Tenant, p shipping.Parcel) []shipping.Rate {
	t.Helper()
	var rates []shipping.Rate
	err := h.DB.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		rates, err = shipping.RatesIn(tx, p)
		return err
	})
	if err != nil {
		t.Fatalf("RatesIn(%+v) = %v", p, err)
	}
	return rates
}

func titles(rs []shipping.Rate) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Title)
	}
	return out
}

func TestRatesIn(t *testing.T) {
	h := newHarness(t)
	st := h.Store("shipping-rates")
	svc := shipping.NewService(h.DB)

	if got := ratesIn(t, h, st, shipping.Parcel{CountryCode: "US", Subtotal: 1000}); len(got) != 0 {
		t.Fatalf("RatesIn with no zones = %v, want none", got)
	}
	mustZone(t, svc, st, shipping.ZoneInput{Name: "Domestic", Countries: []shipping.ZoneCountryInput{{Code: "US"}},
		PriceRates: []shipping.PriceRateInput{
			{Name: "Standard", Price: "5.00", MaxSubtotal: ptr("49.99")},
			{Name: "Free shipping", Price: "0", MinSubtotal: ptr("50.00")},
			{Name: "Express", Price: "15.00"},
		},
		WeightRates: []shipping.WeightRateInput{
			{Name: "Freight", Price: "40.00", WeightLow: ptr("5"), WeightHigh: ptr("30.5")},
			{Name: "Light", Price: "3.50", WeightLow: ptr("0"), WeightHigh: ptr("0.5")},
		},
	})
	mustZone(t, svc, st, shipping.ZoneInput{Name: "West coast", Countries: []shipping.ZoneCountryInput{{Code: "US", Provinces: []string{"CA", "US-OR"}}},
		PriceRates: []shipping.PriceRateInput{{Name: "West flat", Price: "7.00"}}})
	mustZone(t, svc, st, shipping.ZoneInput{Name: "World", Countries: []shipping.ZoneCountryInput{{Code: "*"}},
		PriceRates: []shipping.PriceRateInput{{Name: "International", Price: "25.00"}}})
	mustZone(t, svc, st, shipping.ZoneInput{Name: "Canada", Countries: []shipping.ZoneCountryInput{{Code: "CA"}}})

	for _, tc := range []struct {
		name string
		p    shipping.Parcel
		want []string
	}{
		{"price band below threshold", shipping.Parcel{CountryCode: "US", ProvinceCode: "NY", Subtotal: 4999, Grams: 1000}, []string{"Standard", "Express"}},
		{"free above threshold", shipping.Parcel{CountryCode: "US", ProvinceCode: "NY", Subtotal: 5000, Grams: 1000}, []string{"Free shipping", "Express"}},
		{"weight band light", shipping.Parcel{CountryCode: "US", Subtotal: 5000, Grams: 500}, []string{"Free shipping", "Light", "Express"}},
		{"weight band heavy", shipping.Parcel{CountryCode: "us", Subtotal: 100, Grams: 30500}, []string{"Standard", "Express", "Freight"}},
		{"weight above every band", shipping.Parcel{CountryCode: "US", Subtotal: 100, Grams: 30501}, []string{"Standard", "Express"}},
		{"province zone beats country zone", shipping.Parcel{CountryCode: "US", ProvinceCode: "CA", Subtotal: 100}, []string{"West flat"}},
		{"province with country prefix", shipping.Parcel{CountryCode: "US", ProvinceCode: "us-or", Subtotal: 100}, []string{"West flat"}},
		{"rest of world", shipping.Parcel{CountryCode: "DE", Subtotal: 100}, []string{"International"}},
		{"country zone without rates", shipping.Parcel{CountryCode: "CA", ProvinceCode: "ON", Subtotal: 100}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := titles(ratesIn(t, h, st, tc.p)); !cmp.Equal(got, tc.want) {
				t.Errorf("RatesIn(%+v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}

	// Codes stay the same when the zone is saved again with the rates' ids.
	zs, err := svc.Zones(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	before := ratesIn(t, h, st, shipping.Parcel{CountryCode: "US", ProvinceCode: "CA"})
	west := zs[1]
	if _, err := svc.UpdateZone(context.Background(), st, west.ID, shipping.ZoneInput{Name: "West", Countries: []shipping.ZoneCountryInput{{Code: "US", Provinces: []string{"CA"}}},
		PriceRates: []shipping.PriceRateInput{{ID: west.Rates[0].ID, Name: "West flat", Price: "8.00"}, {Name: "West express", Price: "20"}}}); err != nil {
		t.Fatalf("UpdateZone = %v", err)
	}
	after := ratesIn(t, h, st, shipping.Parcel{CountryCode: "US", ProvinceCode: "CA"})
	if len(after) != 2 || after[0].Code != before[0].Code || after[0].Price != 800 {
		t.Errorf("RatesIn after UpdateZone = %+v, want %s at 800 first, then the new rate", after, before[0].Code)
	}
	// Oregon left the west zone: back to the country's rates.
	if got := titles(ratesIn(t, h, st, shipping.Parcel{CountryCode: "US", ProvinceCode: "OR", Subtotal: 100, Grams: 1000})); !cmp.Equal(got, []string{"Standard", "Express"}) {
		t.Errorf("RatesIn(OR) after UpdateZone = %v", got)
	}

	// Another store's zones are not this one's.
	other := h.Store("shipping-rates-other")
	if got := ratesIn(t, h, other, shipping.Parcel{CountryCode: "US", Subtotal: 100}); len(got) != 0 {
		t.Errorf("RatesIn in another store = %v, want none", got)
	}
	if _, err := svc.Zone(context.Background(), other, west.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("Zone(other store, %d) = %v, want NotFound", west.ID, err)
	}
}

func TestCreateZoneInvalid(t *testing.T) {
	h := newHarness(t)
	st := h.Store("shipping-invalid")
	svc := shipping.NewService(h.DB)
	for _, tc := range []struct {
		in    shipping.ZoneInput
		field string
	}{
		{shipping.ZoneInput{Countries: []shipping.ZoneCountryInput{{Code: "US"}}}, "name"},
		{shipping.ZoneInput{Name: "x"}, "countries"},
		{shipping.ZoneInput{Name: "x", Countries: []shipping.ZoneCountryInput{{Code: "XX"}}}, "countries[0].code"},
		{shipping.ZoneInput{Name: "x", Countries: []shipping.ZoneCountryInput{{Code: "US", Provinces: []string{"ZZ"}}}}, "countries[0].provinces"},
		{shipping.ZoneInput{Name: "x", Countries: []shipping.ZoneCountryInput{{Code: "US"}, {Code: "us"}}}, "countries[1].code"},
		{shipping.ZoneInput{Name: "x", Countries: []shipping.ZoneCountryInput{{Code: "US"}},
			PriceRates: []shipping.PriceRateInput{{Name: "a", Price: "1.999"}}}, "price_based_shipping_rates[0].price"},
		{shipping.ZoneInput{Name: "x", Countries: []shipping.ZoneCountryInput{{Code: "US"}},
			PriceRates: []shipping.PriceRateInput{{Name: "a", Price: "1", MinSubtotal: ptr("10"), MaxSubtotal: ptr("5")}}}, "price_based_shipping_rates[0].max_order_subtotal"},
		{shipping.ZoneInput{Name: "x", Countries: []shipping.ZoneCountryInput{{Code: "US"}},
			PriceRates: []shipping.PriceRateInput{{Price: "1"}}}, "price_based_shipping_rates[0].name"},
		{shipping.ZoneInput{Name: "x", Countries: []shipping.ZoneCountryInput{{Code: "US"}},
			WeightRates: []shipping.WeightRateInput{{Name: "a", Price: "1", WeightLow: ptr("-1")}}}, "weight_based_shipping_rates[0].weight_low"},
		{shipping.ZoneInput{Name: "x", Countries: []shipping.ZoneCountryInput{{Code: "US"}},
			WeightRates: []shipping.WeightRateInput{{Name: "a", Price: "1", WeightLow: ptr("0.0001")}}}, "weight_based_shipping_rates[0].weight_low"},
		{shipping.ZoneInput{Name: "x", Countries: []shipping.ZoneCountryInput{{Code: "US"}},
			WeightRates: []shipping.WeightRateInput{{Name: "a", Price: "1", WeightLow: ptr("5"), WeightHigh: ptr("1")}}}, "weight_based_shipping_rates[0].weight_high"},
	} {
		_, err := svc.CreateZone(context.Background(), st, tc.in)
		if !errs.Is(err, errs.Invalid) || len(errs.FieldsOf(err)[tc.field]) == 0 {
			t.Errorf("CreateZone(%+v) = %v (fields %v), want Invalid naming %s", tc.in, err, errs.FieldsOf(err), tc.field)
		}
	}
}

func TestTaxesIn(t *testing.T) {
	h := newHarness(t)
	st := h.Store("shipping-taxes")
	svc := shipping.NewService(h.DB)
	ctx := context.Background()
	taxes := func(country, province string) ([]shipping.TaxRate, bool, bool) {
		t.Helper()
		var rates []shipping.TaxRate
		var inc, ship bool
		err := h.DB.ReadTx(ctx, st, func(tx *gorm.DB) error {
			var err error
			rates, inc, ship, err = shipping.TaxesIn(tx, country, province)
			return err
		})
		if err != nil {
			t.Fatalf("TaxesIn(%s, %s) = %v", country, province, err)
		}
		return rates, inc, ship
	}
	if rates, inc, ship := taxes("CA", "ON"); len(rates) != 0 || inc || ship {
		t.Fatalf("TaxesIn with no rates = %v %v %v, want nothing", rates, inc, ship)
	}
	ca, err := svc.CreateTaxCountry(ctx, st, shipping.TaxCountryInput{Code: ptr("ca"), Tax: ptr("0.05"), TaxName: ptr("GST")})
	if err != nil {
		t.Fatalf("CreateTaxCountry(CA) = %v", err)
	}
	if len(ca.Provinces) != 13 {
		t.Fatalf("CreateTaxCountry(CA) has %d provinces, want 13", len(ca.Provinces))
	}
	set := func(code, tax, typ string) {
		t.Helper()
		for _, p := range ca.Provinces {
			if p.Code == code {
				if _, err := svc.UpdateTaxProvince(ctx, st, ca.ID, p.ID, shipping.TaxProvinceInput{Tax: &tax, TaxType: &typ}); err != nil {
					t.Fatalf("UpdateTaxProvince(%s) = %v", code, err)
				}
				return
			}
		}
		t.Fatalf("no province %s", code)
	}
	set("ON", "0.13", "harmonized")
	set("QC", "0.09975", "compounded")
	set("BC", "0.07", "")
	if _, err := svc.CreateTaxCountry(ctx, st, shipping.TaxCountryInput{Code: ptr("*"), Tax: ptr("0.1")}); err != nil {
		t.Fatalf("CreateTaxCountry(*) = %v", err)
	}
	if err := h.DB.Tx(ctx, st, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE shop SET taxes_included = true, tax_shipping = true`).Error
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		country, province string
		want              []shipping.TaxRate
	}{
		{"CA", "ON", []shipping.TaxRate{{Title: "ON State Tax", PPM: 130_000}}},
		{"CA", "QC", []shipping.TaxRate{{Title: "GST", PPM: 50_000}, {Title: "QC State Tax", PPM: 99_750, Compound: true}}},
		{"CA", "BC", []shipping.TaxRate{{Title: "GST", PPM: 50_000}, {Title: "BC State Tax", PPM: 70_000}}},
		{"CA", "AB", []shipping.TaxRate{{Title: "GST", PPM: 50_000}}},
		{"CA", "", []shipping.TaxRate{{Title: "GST", PPM: 50_000}}},
		{"FR", "", []shipping.TaxRate{{Title: "Tax", PPM: 100_000}}},
	} {
		rates, inc, ship := taxes(tc.country, tc.province)
		if diff := cmp.Diff(tc.want, rates); diff != "" || !inc || !ship {
			t.Errorf("TaxesIn(%s, %s) = %v, %v (-want +got):\n%s", tc.country, tc.province, inc, ship, diff)
		}
	}
	if _, err := svc.CreateTaxCountry(ctx, st, shipping.TaxCountryInput{Code: ptr("CA")}); !errs.Is(err, errs.Invalid) {
		t.Errorf("CreateTaxCountry(CA again) = %v, want Invalid", err)
	}
}
