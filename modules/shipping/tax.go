package shipping

import (
	"fmt"
	"math/big"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
)

// ppmScale is how many parts per million one whole is.
const ppmScale = 1_000_000

// Province tax types, as Shopify names them.
const (
	TaxNormal     = ""           // added to the country's tax
	TaxHarmonized = "harmonized" // replaces the country's tax
	TaxCompounded = "compounded" // applied on the price plus the country's tax
)

// TaxRate is one tax that applies: a title as receipts show it ("VAT", "CA
// State Tax") and a rate in parts per million (20% is 200000), an integer so
// that a rate is exact. A compound rate applies to the price plus the
// non-compound taxes.
type TaxRate struct {
	Title    string
	PPM      int64
	Compound bool
}

// String writes the rate as Shopify's API does: 0.2 for 20%.
func (r TaxRate) String() string { return ppmString(r.PPM) }

func ppmString(ppm int64) string { return decimal.New(ppm, -6).String() }

// parsePPM reads a rate written as a fraction ("0.2", 0.0725) exactly.
//
// Errors: Invalid, with a message for the field's owner.
func parsePPM(s string) (int64, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, errs.E(errs.Invalid, "must be a decimal fraction like 0.2 for 20%%")
	}
	if d.IsNegative() || d.GreaterThan(decimal.NewFromInt(1)) {
		return 0, errs.E(errs.Invalid, "must be between 0 and 1 (0.2 is 20%%)")
	}
	p := d.Shift(6)
	if !p.IsInteger() {
		return 0, errs.E(errs.Invalid, "has more than 6 decimals")
	}
	return p.IntPart(), nil
}

// Tax computes the tax of a line total under rates, one amount per rate.
// Excluded (included false): amount×rate, a compound rate applying to the
// amount plus the (rounded) non-compound taxes. Included: the amount holds
// the net price and every tax, so the net price is amount / ((1+Σ simple
// rates)(1+Σ compound rates)) and each tax is its rate of its base; with one
// rate that is amount − amount/(1+rate). Each result is rounded half away
// from zero to the minor unit (amounts are in minor units already, so JPY
// rounds to whole yen), a negative amount (a refund) mirroring a positive one.
func Tax(amount money.Amount, rates []TaxRate, included bool) []money.Amount {
	out := make([]money.Amount, len(rates))
	rate := func(ppm int64) *big.Rat { return big.NewRat(ppm, ppmScale) }
	if !included {
		simple := money.Amount(0)
		for i, r := range rates {
			if !r.Compound {
				out[i] = roundHalfUp(new(big.Rat).Mul(new(big.Rat).SetInt64(int64(amount)), rate(r.PPM)))
				simple += out[i]
			}
		}
		base := new(big.Rat).SetInt64(int64(amount + simple))
		for i, r := range rates {
			if r.Compound {
				out[i] = roundHalfUp(new(big.Rat).Mul(base, rate(r.PPM)))
			}
		}
		return out
	}
	one := big.NewRat(1, 1)
	simpleSum, compoundSum := new(big.Rat), new(big.Rat)
	for _, r := range rates {
		if r.Compound {
			compoundSum.Add(compoundSum, rate(r.PPM))
		} else {
			simpleSum.Add(simpleSum, rate(r.PPM))
		}
	}
	simpleFactor := new(big.Rat).Add(one, simpleSum)
	factor := new(big.Rat).Mul(simpleFactor, new(big.Rat).Add(one, compoundSum))
	net := new(big.Rat).Quo(new(big.Rat).SetInt64(int64(amount)), factor)
	withSimple := new(big.Rat).Mul(net, simpleFactor)
	for i, r := range rates {
		base := net
		if r.Compound {
			base = withSimple
		}
		out[i] = roundHalfUp(new(big.Rat).Mul(base, rate(r.PPM)))
	}
	return out
}

// roundHalfUp rounds x to the nearest integer, halves away from zero.
func roundHalfUp(x *big.Rat) money.Amount {
	neg := x.Sign() < 0
	a := new(big.Rat).Abs(x)
	a.Add(a, big.NewRat(1, 2))
	q := new(big.Int).Quo(a.Num(), a.Denom()) // floor, a being positive
	n := money.Amount(q.Int64())
	if neg {
		return -n
	}
	return n
}

// TaxesIn returns the tax rates that apply to an address in
// countryCode/provinceCode (the store's rest-of-world rate when it has none
// for the country), and the store's taxes_included and tax_shipping
// settings, inside a transaction the caller holds. A province's rate adds to
// the country's, replaces it (harmonized) or compounds on it; rates of zero
// are left out, so no rates means no tax.
func TaxesIn(tx *gorm.DB, countryCode, provinceCode string) (rates []TaxRate, included, shipping bool, err error) {
	included, shipping, err = findTaxSettings(tx)
	if err != nil {
		return nil, false, false, err
	}
	c, ok, err := findTaxCountryByCode(tx, countryCode)
	if err != nil {
		return nil, false, false, err
	}
	if !ok {
		if c, ok, err = findTaxCountryByCode(tx, RestOfWorld); err != nil || !ok {
			return nil, included, shipping, err
		}
	}
	countryRate := TaxRate{Title: taxTitle(c.TaxName, c.Code, ""), PPM: c.Tax}
	rates = []TaxRate{countryRate}
	if provinceCode != "" && c.Code != RestOfWorld {
		for _, p := range c.Provinces {
			if p.Code != normaliseProvince(c.Code, provinceCode) {
				continue
			}
			pr := TaxRate{Title: taxTitle(p.TaxName, c.Code, p.Code), PPM: p.Tax}
			switch p.TaxType {
			case TaxHarmonized:
				rates = []TaxRate{pr}
			case TaxCompounded:
				pr.Compound = true
				rates = append(rates, pr)
			default:
				rates = append(rates, pr)
			}
		}
	}
	out := rates[:0]
	for _, r := range rates {
		if r.PPM > 0 {
			out = append(out, r)
		}
	}
	return out, included, shipping, nil
}

// taxTitle is a tax's name, or Shopify's default for it ("CA State Tax",
// "US Tax"; "Tax" for the rest of the world).
func taxTitle(name, country, province string) string {
	switch {
	case name != "":
		return name
	case province != "":
		return fmt.Sprintf("%s State Tax", province)
	case country == RestOfWorld:
		return "Tax"
	}
	return country + " Tax"
}
