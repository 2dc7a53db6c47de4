package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/shipping"
)

// Shipping zones and tax rates, through the shipping service's methods that
// shipping_zones.json and countries.json call ("shipping" read and write).

// rateView is a rate of a zone as the pages show it.
type rateView struct {
	ID                     int64
	Kind, Name, Price      string
	Condition              string // "orders from 50.00 to 100.00", "0.5 kg and up", …
	WeightBased, Removable bool
}

// zoneView is a zone as the pages show it.
type zoneView struct {
	ID            int64
	Name          string
	Countries     []string // "Canada", "United States (CA, NY)", "Rest of the world"
	CountriesText string   // the codes as the form takes them: "CA, US-CA, US-NY"
	Rates         []rateView
}

// shippingPage is the zones list, with the new zone form.
type shippingPage struct {
	Zones                               []zoneView
	Currency                            string
	Name, CountriesText, RateName, Rate string // the new zone form, kept after an error
	CanWrite                            bool
	Flash                               string
	Problems                            []string
}

// zonePage is one zone, with its edit and new rate forms.
type zonePage struct {
	Zone                          zoneView
	Currency                      string
	Name, CountriesText           string
	RateKind, RateName, RatePrice string
	RateMin, RateMax              string
	CanWrite                      bool
	Flash                         string
	Problems                      []string
}

// shippingDone are the notices shown after an action, by ?done=.
var shippingDone = map[string]string{
	"created": "Zone added.", "saved": "Zone saved.", "deleted": "Zone deleted.",
	"rate-added": "Rate added.", "rate-deleted": "Rate deleted.",
}

// gramsText writes grams as the kilograms the forms take: "0.5".
func gramsText(g int64) string { return decimal.New(g, -3).String() }

// toZoneView is z for the pages, its amounts in cur.
func toZoneView(z shipping.Zone, cur money.Currency) zoneView {
	v := zoneView{ID: z.ID, Name: z.Name}
	var codes []string
	for _, zc := range z.Countries {
		name := shipping.CountryName(zc.Code)
		if zc.Code == shipping.RestOfWorld {
			name = "Rest of the world"
		}
		if len(zc.Provinces) > 0 {
			name += " (" + strings.Join(zc.Provinces, ", ") + ")"
			for _, p := range zc.Provinces {
				codes = append(codes, zc.Code+"-"+p)
			}
		} else {
			codes = append(codes, zc.Code)
		}
		v.Countries = append(v.Countries, name)
	}
	v.CountriesText = strings.Join(codes, ", ")
	for _, r := range z.Rates {
		rv := rateView{ID: r.ID, Kind: r.Kind, Name: r.Name, Price: formatMoney(cur.Code, r.Price), WeightBased: r.Kind == shipping.WeightBased}
		if rv.WeightBased {
			switch {
			case r.WeightLow != nil && r.WeightHigh != nil:
				rv.Condition = fmt.Sprintf("parcels of %s to %s kg", gramsText(*r.WeightLow), gramsText(*r.WeightHigh))
			case r.WeightLow != nil:
				rv.Condition = fmt.Sprintf("parcels of %s kg and more", gramsText(*r.WeightLow))
			case r.WeightHigh != nil:
				rv.Condition = fmt.Sprintf("parcels up to %s kg", gramsText(*r.WeightHigh))
			default:
				rv.Condition = "any weight"
			}
		} else {
			switch {
			case r.MinSubtotal != nil && r.MaxSubtotal != nil:
				rv.Condition = fmt.Sprintf("orders of %s to %s", formatMoney(cur.Code, *r.MinSubtotal), formatMoney(cur.Code, *r.MaxSubtotal))
			case r.MinSubtotal != nil:
				rv.Condition = fmt.Sprintf("orders of %s and more", formatMoney(cur.Code, *r.MinSubtotal))
			case r.MaxSubtotal != nil:
				rv.Condition = fmt.Sprintf("orders up to %s", formatMoney(cur.Code, *r.MaxSubtotal))
			default:
				rv.Condition = "every order"
			}
		}
		v.Rates = append(v.Rates, rv)
	}
	return v
}

// parseCountries reads the zone form's countries: ISO codes separated by
// commas or spaces, "US-CA" for a province, "*" for the rest of the world.
// The shipping service checks each code.
func parseCountries(s string) []shipping.ZoneCountryInput {
	var out []shipping.ZoneCountryInput
	withProvinces := map[string]int{}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }) {
		tok = strings.ToUpper(tok)
		code, prov, ok := strings.Cut(tok, "-")
		if !ok || code == shipping.RestOfWorld {
			out = append(out, shipping.ZoneCountryInput{Code: tok})
			continue
		}
		if i, seen := withProvinces[code]; seen {
			out[i].Provinces = append(out[i].Provinces, prov)
			continue
		}
		withProvinces[code] = len(out)
		out = append(out, shipping.ZoneCountryInput{Code: code, Provinces: []string{prov}})
	}
	return out
}

// optional is s trimmed, nil when blank.
func optional(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}

// zoneInput is z as a ZoneInput that keeps its rates (and their ids).
func zoneInput(z shipping.Zone, cur money.Currency) shipping.ZoneInput {
	in := shipping.ZoneInput{Name: z.Name}
	for _, zc := range z.Countries {
		in.Countries = append(in.Countries, shipping.ZoneCountryInput{Code: zc.Code, Provinces: zc.Provinces})
	}
	amount := func(a *money.Amount) *string {
		if a == nil {
			return nil
		}
		s := cur.Format(*a)
		return &s
	}
	weight := func(g *int64) *string {
		if g == nil {
			return nil
		}
		s := gramsText(*g)
		return &s
	}
	for _, r := range z.Rates {
		if r.Kind == shipping.WeightBased {
			in.WeightRates = append(in.WeightRates, shipping.WeightRateInput{ID: r.ID, Name: r.Name, Price: cur.Format(r.Price),
				WeightLow: weight(r.WeightLow), WeightHigh: weight(r.WeightHigh)})
			continue
		}
		in.PriceRates = append(in.PriceRates, shipping.PriceRateInput{ID: r.ID, Name: r.Name, Price: cur.Format(r.Price),
			MinSubtotal: amount(r.MinSubtotal), MaxSubtotal: amount(r.MaxSubtotal)})
	}
	return in
}

// settingsShipping lists the store's zones with their countries and rates.
func (d *Dashboard) settingsShipping(c *gin.Context) {
	d.showShipping(c, http.StatusOK, shippingPage{Flash: shippingDone[c.Query("done")]})
}

func (d *Dashboard) showShipping(c *gin.Context, status int, page shippingPage) {
	m := memberOf(c)
	ctx := c.Request.Context()
	cur, err := d.cfg.Shipping.Currency(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	zones, err := d.cfg.Shipping.Zones(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanWrite, err = d.canWrite(c, "shipping"); err != nil {
		d.failErr(c, err)
		return
	}
	page.Currency = cur.Code
	for _, z := range zones {
		page.Zones = append(page.Zones, toZoneView(z, cur))
	}
	d.render(c, status, "settings_shipping", "Shipping", page)
}

// createShippingZone adds a zone, with a first price-based rate when one
// is given, as POST shipping_zones.json does.
func (d *Dashboard) createShippingZone(c *gin.Context) {
	page := shippingPage{Name: c.PostForm("name"), CountriesText: c.PostForm("countries"),
		RateName: c.PostForm("rate_name"), Rate: c.PostForm("rate_price")}
	in := shipping.ZoneInput{Name: page.Name, Countries: parseCountries(page.CountriesText)}
	if strings.TrimSpace(page.RateName) != "" || strings.TrimSpace(page.Rate) != "" {
		in.PriceRates = []shipping.PriceRateInput{{Name: page.RateName, Price: page.Rate}}
	}
	_, err := d.cfg.Shipping.CreateZone(c.Request.Context(), memberOf(c).Store, in)
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, settingsBase(c)+"/shipping?done=created")
	case userError(err):
		page.Problems = problems(err)
		d.showShipping(c, http.StatusUnprocessableEntity, page)
	default:
		d.failErr(c, err)
	}
}

// pathID is the positive integer path parameter name; ok is false for
// anything else.
func pathID(c *gin.Context, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	return id, err == nil && id > 0
}

// settingsZone shows one of the store's zones.
func (d *Dashboard) settingsZone(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		d.notFound(c)
		return
	}
	d.showZone(c, http.StatusOK, id, zonePage{Flash: shippingDone[c.Query("done")], RateKind: shipping.PriceBased}, true)
}

// showZone renders zone id's page; fresh fills the edit form from the zone
// rather than from what was typed.
func (d *Dashboard) showZone(c *gin.Context, status int, id int64, page zonePage, fresh bool) {
	m := memberOf(c)
	ctx := c.Request.Context()
	z, err := d.cfg.Shipping.Zone(ctx, m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	cur, err := d.cfg.Shipping.Currency(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanWrite, err = d.canWrite(c, "shipping"); err != nil {
		d.failErr(c, err)
		return
	}
	page.Zone, page.Currency = toZoneView(z, cur), cur.Code
	if fresh {
		page.Name, page.CountriesText = z.Name, page.Zone.CountriesText
	}
	d.render(c, status, "settings_zone", "Shipping zone "+z.Name, page)
}

// zoneChanged answers a post on zone id: back to the zone (or the list)
// with a notice, or the zone's page again with the error (422).
func (d *Dashboard) zoneChanged(c *gin.Context, id int64, done string, page zonePage, fresh bool, err error) {
	switch {
	case err == nil && done == "deleted":
		c.Redirect(http.StatusSeeOther, settingsBase(c)+"/shipping?done=deleted")
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("%s/shipping/zones/%d?done=%s", settingsBase(c), id, done))
	case userError(err):
		page.Problems = problems(err)
		d.showZone(c, http.StatusUnprocessableEntity, id, page, fresh)
	default:
		d.failErr(c, err)
	}
}

// updateShippingZone renames a zone or changes its countries, keeping its
// rates, as PUT shipping_zones/{id}.json does.
func (d *Dashboard) updateShippingZone(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		d.notFound(c)
		return
	}
	m := memberOf(c)
	ctx := c.Request.Context()
	page := zonePage{Name: c.PostForm("name"), CountriesText: c.PostForm("countries"), RateKind: shipping.PriceBased}
	z, cur, err := d.zoneAndCurrency(c, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	in := zoneInput(z, cur)
	in.Name, in.Countries = page.Name, parseCountries(page.CountriesText)
	_, err = d.cfg.Shipping.UpdateZone(ctx, m.Store, id, in)
	d.zoneChanged(c, id, "saved", page, false, err)
}

func (d *Dashboard) zoneAndCurrency(c *gin.Context, id int64) (shipping.Zone, money.Currency, error) {
	m := memberOf(c)
	z, err := d.cfg.Shipping.Zone(c.Request.Context(), m.Store, id)
	if err != nil {
		return z, money.Currency{}, err
	}
	cur, err := d.cfg.Shipping.Currency(c.Request.Context(), m.Store)
	return z, cur, err
}

// deleteShippingZone removes a zone with its rates.
func (d *Dashboard) deleteShippingZone(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		d.notFound(c)
		return
	}
	err := d.cfg.Shipping.DeleteZone(c.Request.Context(), memberOf(c).Store, id)
	d.zoneChanged(c, id, "deleted", zonePage{}, true, err)
}

// addShippingRate adds a price- or weight-based rate to a zone.
func (d *Dashboard) addShippingRate(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		d.notFound(c)
		return
	}
	page := zonePage{RateKind: c.PostForm("kind"), RateName: c.PostForm("rate_name"), RatePrice: c.PostForm("rate_price"),
		RateMin: c.PostForm("rate_min"), RateMax: c.PostForm("rate_max")}
	z, cur, err := d.zoneAndCurrency(c, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	in := zoneInput(z, cur)
	switch page.RateKind {
	case shipping.WeightBased:
		in.WeightRates = append(in.WeightRates, shipping.WeightRateInput{Name: page.RateName, Price: page.RatePrice,
			WeightLow: optional(page.RateMin), WeightHigh: optional(page.RateMax)})
	default:
		page.RateKind = shipping.PriceBased
		in.PriceRates = append(in.PriceRates, shipping.PriceRateInput{Name: page.RateName, Price: page.RatePrice,
			MinSubtotal: optional(page.RateMin), MaxSubtotal: optional(page.RateMax)})
	}
	_, err = d.cfg.Shipping.UpdateZone(c.Request.Context(), memberOf(c).Store, id, in)
	d.zoneChanged(c, id, "rate-added", page, true, err)
}

// deleteShippingRate removes a rate from a zone: the zone's other rates,
// as PUT shipping_zones/{id}.json without it.
func (d *Dashboard) deleteShippingRate(c *gin.Context) {
	id, ok := pathID(c, "id")
	rateID, ok2 := pathID(c, "rate")
	if !ok || !ok2 {
		d.notFound(c)
		return
	}
	z, cur, err := d.zoneAndCurrency(c, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	found := false
	kept := z.Rates[:0:0]
	for _, r := range z.Rates {
		if r.ID == rateID {
			found = true
			continue
		}
		kept = append(kept, r)
	}
	if !found {
		d.notFound(c)
		return
	}
	z.Rates = kept
	_, err = d.cfg.Shipping.UpdateZone(c.Request.Context(), memberOf(c).Store, id, zoneInput(z, cur))
	d.zoneChanged(c, id, "rate-deleted", zonePage{RateKind: shipping.PriceBased}, true, err)
}

// --- Taxes -------------------------------------------------------------------

// taxCountryView is a country's tax rate as the pages show it.
type taxCountryView struct {
	ID               int64
	Code, Name       string
	Percent, TaxName string
	Provinces        []taxProvinceView
}

// taxProvinceView is a province's tax rate.
type taxProvinceView struct {
	ID                           int64
	Code, Name, Percent, TaxName string
	TaxType                      string
}

// taxesPage is the tax rates list, with the new country form.
type taxesPage struct {
	Countries              []taxCountryView
	Choices                []shipping.Country // countries to add
	Code, Percent, TaxName string             // the form, kept after an error
	TaxesIncluded          bool
	CanWrite               bool
	Flash                  string
	Problems               []string
}

// taxCountryPage is one country's rates, with its provinces.
type taxCountryPage struct {
	Country          taxCountryView
	Percent, TaxName string
	TaxTypes         []string
	CanWrite         bool
	Flash            string
	Problems         []string
}

var taxesDone = map[string]string{"created": "Tax rate added.", "saved": "Tax rate saved.", "deleted": "Tax rate deleted.",
	"province-saved": "Province rate saved."}

// percentText writes parts per million as a percentage: 200000 is "20".
func percentText(ppm int64) string { return decimal.New(ppm, -4).String() }

// fraction reads a percentage ("20", "7.25") as the fraction the shipping
// service takes ("0.2", "0.0725"); nil for a blank one.
//
// Errors: Invalid, naming the field.
func fraction(field, s string) (*string, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if s == "" {
		return nil, nil
	}
	p, err := decimal.NewFromString(s)
	if err != nil || strings.ContainsAny(s, "eE") || p.IsNegative() || p.GreaterThan(decimal.NewFromInt(100)) || p.Exponent() < -4 {
		return nil, &errs.Error{Kind: errs.Invalid, Message: "the rate is not a percentage",
			Fields: map[string][]string{field: {"must be a percentage from 0 to 100 with at most 4 decimals, like 20 or 7.25"}}}
	}
	f := p.Shift(-2).String()
	return &f, nil
}

func toTaxCountryView(c shipping.TaxCountry) taxCountryView {
	v := taxCountryView{ID: c.ID, Code: c.Code, Name: c.Name(), Percent: percentText(c.Tax), TaxName: c.TaxName}
	for _, p := range c.Provinces {
		v.Provinces = append(v.Provinces, taxProvinceView{ID: p.ID, Code: p.Code, Name: shipping.ProvinceName(c.Code, p.Code),
			Percent: percentText(p.Tax), TaxName: p.TaxName, TaxType: p.TaxType})
	}
	return v
}

// settingsTaxes lists the store's tax rates by country.
func (d *Dashboard) settingsTaxes(c *gin.Context) {
	d.showTaxes(c, http.StatusOK, taxesPage{Flash: taxesDone[c.Query("done")]})
}

func (d *Dashboard) showTaxes(c *gin.Context, status int, page taxesPage) {
	m := memberOf(c)
	ctx := c.Request.Context()
	cs, err := d.cfg.Shipping.TaxCountries(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	sh, err := d.cfg.Shop.Shop(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanWrite, err = d.canWrite(c, "shipping"); err != nil {
		d.failErr(c, err)
		return
	}
	have := map[string]bool{}
	for _, tc := range cs {
		page.Countries = append(page.Countries, toTaxCountryView(tc))
		have[tc.Code] = true
	}
	if !have[shipping.RestOfWorld] {
		page.Choices = append(page.Choices, shipping.Country{Code: shipping.RestOfWorld, Name: "Rest of the world"})
	}
	for _, co := range shipping.Countries() {
		if !have[co.Code] {
			page.Choices = append(page.Choices, co)
		}
	}
	page.TaxesIncluded = sh.TaxesIncluded
	d.render(c, status, "settings_taxes", "Taxes", page)
}

// createTaxCountry adds a country's tax rate, as POST countries.json does.
func (d *Dashboard) createTaxCountry(c *gin.Context) {
	page := taxesPage{Code: c.PostForm("code"), Percent: c.PostForm("rate"), TaxName: c.PostForm("tax_name")}
	tax, err := fraction("tax", page.Percent)
	if err == nil {
		zero := "0"
		if tax == nil {
			tax = &zero
		}
		_, err = d.cfg.Shipping.CreateTaxCountry(c.Request.Context(), memberOf(c).Store,
			shipping.TaxCountryInput{Code: &page.Code, Tax: tax, TaxName: &page.TaxName})
	}
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, settingsBase(c)+"/taxes?done=created")
	case userError(err):
		page.Problems = problems(err)
		d.showTaxes(c, http.StatusUnprocessableEntity, page)
	default:
		d.failErr(c, err)
	}
}

// settingsTaxCountry shows one country's rate and its provinces'.
func (d *Dashboard) settingsTaxCountry(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		d.notFound(c)
		return
	}
	d.showTaxCountry(c, http.StatusOK, id, taxCountryPage{Flash: taxesDone[c.Query("done")]}, true)
}

func (d *Dashboard) showTaxCountry(c *gin.Context, status int, id int64, page taxCountryPage, fresh bool) {
	tc, err := d.cfg.Shipping.TaxCountry(c.Request.Context(), memberOf(c).Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanWrite, err = d.canWrite(c, "shipping"); err != nil {
		d.failErr(c, err)
		return
	}
	page.Country = toTaxCountryView(tc)
	page.TaxTypes = []string{shipping.TaxNormal, shipping.TaxHarmonized, shipping.TaxCompounded}
	if fresh {
		page.Percent, page.TaxName = page.Country.Percent, page.Country.TaxName
	}
	d.render(c, status, "settings_taxcountry", "Taxes: "+page.Country.Name, page)
}

// taxChanged answers a post on tax country id.
func (d *Dashboard) taxChanged(c *gin.Context, id int64, done string, page taxCountryPage, fresh bool, err error) {
	switch {
	case err == nil && done == "deleted":
		c.Redirect(http.StatusSeeOther, settingsBase(c)+"/taxes?done=deleted")
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("%s/taxes/%d?done=%s", settingsBase(c), id, done))
	case userError(err):
		page.Problems = problems(err)
		d.showTaxCountry(c, http.StatusUnprocessableEntity, id, page, fresh)
	default:
		d.failErr(c, err)
	}
}

// updateTaxCountry changes a country's rate and tax name.
func (d *Dashboard) updateTaxCountry(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		d.notFound(c)
		return
	}
	page := taxCountryPage{Percent: c.PostForm("rate"), TaxName: c.PostForm("tax_name")}
	tax, err := fraction("tax", page.Percent)
	if err == nil {
		_, err = d.cfg.Shipping.UpdateTaxCountry(c.Request.Context(), memberOf(c).Store, id,
			shipping.TaxCountryInput{Tax: tax, TaxName: &page.TaxName})
	}
	d.taxChanged(c, id, "saved", page, false, err)
}

// deleteTaxCountry removes a country's rates.
func (d *Dashboard) deleteTaxCountry(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		d.notFound(c)
		return
	}
	err := d.cfg.Shipping.DeleteTaxCountry(c.Request.Context(), memberOf(c).Store, id)
	d.taxChanged(c, id, "deleted", taxCountryPage{}, true, err)
}

// updateTaxProvince changes a province's rate, name and type.
func (d *Dashboard) updateTaxProvince(c *gin.Context) {
	id, ok := pathID(c, "id")
	pid, ok2 := pathID(c, "province")
	if !ok || !ok2 {
		d.notFound(c)
		return
	}
	name, typ := c.PostForm("tax_name"), c.PostForm("tax_type")
	tax, err := fraction("tax", c.PostForm("rate"))
	if err == nil {
		_, err = d.cfg.Shipping.UpdateTaxProvince(c.Request.Context(), memberOf(c).Store, id, pid,
			shipping.TaxProvinceInput{Tax: tax, TaxName: &name, TaxType: &typ})
	}
	d.taxChanged(c, id, "province-saved", taxCountryPage{}, true, err)
}
