package shipping

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// Rate kinds.
const (
	PriceBased  = "price"  // bounded by the order subtotal, or flat
	WeightBased = "weight" // bounded by the parcel's weight
)

// Zone is a shipping zone: the countries (or provinces) it covers and the
// rates shoppers there may choose.
type Zone struct {
	ID        int64
	Name      string
	Countries []ZoneCountry
	Rates     []ZoneRate
}

// ZoneCountry is a country of a zone: all of it when Provinces is empty,
// else only those provinces. Code RestOfWorld covers every country that no
// other zone names.
type ZoneCountry struct {
	ID        int64
	Code      string
	Provinces []string
}

// ZoneRate is a rate of a zone. A price-based rate applies to subtotals
// within its optional bounds (inclusive; flat without bounds, free above a
// threshold as a rate of 0 with a minimum); a weight-based rate to parcels
// whose weight in grams is within its bounds (inclusive).
type ZoneRate struct {
	ID          int64
	Kind        string
	Name        string
	Price       money.Amount
	MinSubtotal *money.Amount
	MaxSubtotal *money.Amount
	WeightLow   *int64
	WeightHigh  *int64
}

// Code is the rate's stable code for the checkout.
func (r ZoneRate) Code() string { return fmt.Sprintf("rate-%d", r.ID) }

// applies says whether r is offered for p.
func (r ZoneRate) applies(p Parcel) bool {
	if r.Kind == WeightBased {
		return (r.WeightLow == nil || p.Grams >= *r.WeightLow) && (r.WeightHigh == nil || p.Grams <= *r.WeightHigh)
	}
	return (r.MinSubtotal == nil || p.Subtotal >= *r.MinSubtotal) && (r.MaxSubtotal == nil || p.Subtotal <= *r.MaxSubtotal)
}

// specificity says how closely z matches a parcel to country/province: 3
// names the province, 2 the whole country, 1 is rest of world, 0 no match.
func (z Zone) specificity(country, province string) int {
	best := 0
	for _, c := range z.Countries {
		switch {
		case c.Code == country && len(c.Provinces) == 0:
			best = max(best, 2)
		case c.Code == country && province != "" && slices.Contains(c.Provinces, province):
			best = max(best, 3)
		case c.Code == RestOfWorld:
			best = max(best, 1)
		}
	}
	return best
}

// pickRates returns the rates of the zone among zones that matches p most
// specifically (the lowest id among equals, so the answer is stable),
// cheapest first.
func pickRates(zones []Zone, p Parcel) []Rate {
	country := strings.ToUpper(strings.TrimSpace(p.CountryCode))
	province := normaliseProvince(country, p.ProvinceCode)
	var best *Zone
	bestScore := 0
	for i := range zones {
		if s := zones[i].specificity(country, province); s > bestScore || (s == bestScore && s > 0 && zones[i].ID < best.ID) {
			best, bestScore = &zones[i], s
		}
	}
	if best == nil {
		return []Rate{}
	}
	rates := []Rate{}
	for _, r := range best.Rates {
		if r.applies(p) {
			rates = append(rates, Rate{Code: r.Code(), Title: r.Name, Price: r.Price})
		}
	}
	slices.SortStableFunc(rates, func(a, b Rate) int {
		return cmp.Or(cmp.Compare(a.Price, b.Price), cmp.Compare(len(a.Code), len(b.Code)), cmp.Compare(a.Code, b.Code))
	})
	return rates
}

// normaliseProvince writes a province code as zones and tax rates store it:
// upper case, without the country prefix ("US-CA" is "CA").
func normaliseProvince(country, code string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(code)), country+"-")
}

// RatesIn returns the rates for p, cheapest first, from the most specific
// zone matching p's country and province (a zone naming the province beats
// one naming the whole country beats rest of world), inside a transaction
// the caller holds. It is empty, not an error, when the store does not ship
// there.
func RatesIn(tx *gorm.DB, p Parcel) ([]Rate, error) {
	zones, err := findZonesFor(tx, strings.ToUpper(strings.TrimSpace(p.CountryCode)))
	if err != nil {
		return nil, err
	}
	return pickRates(zones, p), nil
}

// ZoneInput is a whole zone as a merchant writes it: prices as decimal text
// in the store's currency, weights as decimal kilograms (Shopify's units).
// A rate with the ID of one of the zone's rates keeps its ID (and so its
// checkout code); others get new ones.
type ZoneInput struct {
	Name        string
	Countries   []ZoneCountryInput
	PriceRates  []PriceRateInput
	WeightRates []WeightRateInput
}

// ZoneCountryInput is a country of a ZoneInput.
type ZoneCountryInput struct {
	Code      string
	Provinces []string
}

// PriceRateInput is a price-based rate of a ZoneInput.
type PriceRateInput struct {
	ID          int64
	Name        string
	Price       string
	MinSubtotal *string
	MaxSubtotal *string
}

// WeightRateInput is a weight-based rate of a ZoneInput.
type WeightRateInput struct {
	ID         int64
	Name       string
	Price      string
	WeightLow  *string
	WeightHigh *string
}

// toZone checks in and converts it with the store's currency.
//
// Errors: Invalid, with per-field messages.
func (in ZoneInput) toZone(cur money.Currency) (Zone, error) {
	f := errs.Fields{}
	z := Zone{Name: strings.TrimSpace(in.Name)}
	switch {
	case z.Name == "":
		f.Add("name", "can't be blank")
	case len(z.Name) > 255:
		f.Add("name", "is too long (maximum is 255 characters)")
	}
	if len(in.Countries) == 0 {
		f.Add("countries", "must name at least one country (code \"*\" for the rest of the world)")
	}
	if len(in.Countries) > 300 || len(in.PriceRates)+len(in.WeightRates) > 100 {
		f.Add("base", "has too many countries or rates")
		return Zone{}, f.Err()
	}
	seen := map[string]bool{}
	for i, c := range in.Countries {
		zc := ZoneCountry{Code: strings.ToUpper(strings.TrimSpace(c.Code))}
		key := fmt.Sprintf("countries[%d]", i)
		if zc.Code != RestOfWorld {
			if _, ok := lookupCountry(zc.Code); !ok {
				f.Add(key+".code", "%q is not an ISO 3166-1 country code (or \"*\" for the rest of the world)", c.Code)
				continue
			}
		}
		if seen[zc.Code] {
			f.Add(key+".code", "%s is listed twice", zc.Code)
		}
		seen[zc.Code] = true
		for _, p := range c.Provinces {
			code := normaliseProvince(zc.Code, p)
			if _, ok := findProvince(zc.Code, code); !ok {
				f.Add(key+".provinces", "%q is not a province of %s", p, zc.Code)
				continue
			}
			if !slices.Contains(zc.Provinces, code) {
				zc.Provinces = append(zc.Provinces, code)
			}
		}
		slices.Sort(zc.Provinces)
		z.Countries = append(z.Countries, zc)
	}
	amount := func(field, s string) *money.Amount {
		a, err := cur.Parse(s)
		if err != nil {
			f.Add(field, "%s", errs.MessageOf(err))
			return nil
		}
		return &a
	}
	name := func(field, s string) string {
		s = strings.TrimSpace(s)
		if s == "" {
			f.Add(field, "can't be blank")
		} else if len(s) > 255 {
			f.Add(field, "is too long (maximum is 255 characters)")
		}
		return s
	}
	for i, r := range in.PriceRates {
		key := fmt.Sprintf("price_based_shipping_rates[%d]", i)
		zr := ZoneRate{ID: r.ID, Kind: PriceBased, Name: name(key+".name", r.Name)}
		if p := amount(key+".price", r.Price); p != nil {
			zr.Price = *p
		}
		if r.MinSubtotal != nil {
			zr.MinSubtotal = amount(key+".min_order_subtotal", *r.MinSubtotal)
		}
		if r.MaxSubtotal != nil {
			zr.MaxSubtotal = amount(key+".max_order_subtotal", *r.MaxSubtotal)
		}
		if zr.MinSubtotal != nil && zr.MaxSubtotal != nil && *zr.MinSubtotal > *zr.MaxSubtotal {
			f.Add(key+".max_order_subtotal", "must be at least min_order_subtotal")
		}
		z.Rates = append(z.Rates, zr)
	}
	for i, r := range in.WeightRates {
		key := fmt.Sprintf("weight_based_shipping_rates[%d]", i)
		zr := ZoneRate{ID: r.ID, Kind: WeightBased, Name: name(key+".name", r.Name)}
		if p := amount(key+".price", r.Price); p != nil {
			zr.Price = *p
		}
		if r.WeightLow != nil {
			zr.WeightLow = grams(f, key+".weight_low", *r.WeightLow)
		}
		if r.WeightHigh != nil {
			zr.WeightHigh = grams(f, key+".weight_high", *r.WeightHigh)
		}
		if zr.WeightLow != nil && zr.WeightHigh != nil && *zr.WeightLow > *zr.WeightHigh {
			f.Add(key+".weight_high", "must be at least weight_low")
		}
		z.Rates = append(z.Rates, zr)
	}
	if err := f.Err(); err != nil {
		return Zone{}, err
	}
	return z, nil
}

// maxGrams bounds weights at 1000 tonnes, far above any parcel.
const maxGrams = 1_000_000_000

// grams reads a weight in kilograms ("2.5", 2.5) as whole grams.
func grams(f errs.Fields, field, kg string) *int64 {
	d, err := decimal.NewFromString(strings.TrimSpace(kg))
	if err != nil || strings.ContainsAny(kg, "eE") {
		f.Add(field, "must be a weight in kilograms like 2.5")
		return nil
	}
	g := d.Shift(3)
	switch {
	case g.IsNegative():
		f.Add(field, "must not be negative")
	case !g.IsInteger():
		f.Add(field, "has more than 3 decimals (weights are kept in grams)")
	case g.GreaterThan(decimal.NewFromInt(maxGrams)):
		f.Add(field, "is too large")
	default:
		n := g.IntPart()
		return &n
	}
	return nil
}

// kg writes grams as Shopify's decimal kilograms.
func kg(g int64) decimal.Decimal { return decimal.New(g, -3) }

// Currency is store t's currency, in which rates are priced.
func (s *Service) Currency(ctx context.Context, t *tenant.Tenant) (money.Currency, error) {
	var c money.Currency
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = shop.CurrencyIn(tx)
		return err
	})
	return c, err
}

// Zones lists store t's shipping zones with their countries and rates, in
// id order.
func (s *Service) Zones(ctx context.Context, t *tenant.Tenant) ([]Zone, error) {
	var zs []Zone
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		zs, err = findZones(tx, 0)
		return err
	})
	return zs, err
}

// Zone returns store t's shipping zone id.
//
// Errors: NotFound (ErrZoneNotFound).
func (s *Service) Zone(ctx context.Context, t *tenant.Tenant, id int64) (Zone, error) {
	var z Zone
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		z, err = findZone(tx, id)
		return err
	})
	return z, err
}

// CreateZone adds a shipping zone to store t.
//
// Errors: Invalid (with per-field messages).
func (s *Service) CreateZone(ctx context.Context, t *tenant.Tenant, in ZoneInput) (Zone, error) {
	var id int64
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		cur, err := shop.CurrencyIn(tx)
		if err != nil {
			return err
		}
		z, err := in.toZone(cur)
		if err != nil {
			return err
		}
		for i := range z.Rates {
			z.Rates[i].ID = 0 // a new zone has no rates to keep
		}
		id, err = insertZone(tx, z)
		return err
	})
	if err != nil {
		return Zone{}, err
	}
	return s.Zone(ctx, t, id)
}

// UpdateZone replaces store t's shipping zone id, countries and rates and
// all, with in. Rates in gives with the ID of one of the zone's rates keep
// it; the zone's other rates are removed.
//
// Errors: NotFound (ErrZoneNotFound), Invalid (with per-field messages).
func (s *Service) UpdateZone(ctx context.Context, t *tenant.Tenant, id int64, in ZoneInput) (Zone, error) {
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		old, err := findZone(tx, id)
		if err != nil {
			return err
		}
		cur, err := shop.CurrencyIn(tx)
		if err != nil {
			return err
		}
		z, err := in.toZone(cur)
		if err != nil {
			return err
		}
		z.ID = id
		kept := map[int64]bool{}
		for i, r := range z.Rates {
			ok := slices.ContainsFunc(old.Rates, func(o ZoneRate) bool { return o.ID == r.ID && o.Kind == r.Kind })
			if !ok || kept[r.ID] {
				z.Rates[i].ID = 0
			}
			kept[z.Rates[i].ID] = true
		}
		return replaceZone(tx, z)
	})
	if err != nil {
		return Zone{}, err
	}
	return s.Zone(ctx, t, id)
}

// DeleteZone removes store t's shipping zone id with its rates.
//
// Errors: NotFound (ErrZoneNotFound).
func (s *Service) DeleteZone(ctx context.Context, t *tenant.Tenant, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error { return deleteZone(tx, id) })
}
