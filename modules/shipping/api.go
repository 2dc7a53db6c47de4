package shipping

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
)

// AdminRoutes mounts shipping_zones.json (GET as Shopify has it; POST, PUT
// and DELETE are Storefleet's, since Shopify manages zones elsewhere) and
// countries.json with its provinces, for tax rates. Gin needs one name for
// the wildcard after /countries/, so it is "file": "123.json" or
// "count.json" on the country routes, "123" on the province routes below.
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("shipping", rbac.Read), g.Require("shipping", rbac.Write)
	r.GET("/shipping_zones.json", read, g.Handle(s.listZones))
	r.POST("/shipping_zones.json", write, g.Handle(s.createZone))
	r.PUT("/shipping_zones/:file", write, g.Handle(s.updateZone))
	r.DELETE("/shipping_zones/:file", write, g.Handle(s.deleteZone))

	r.GET("/countries.json", read, g.Handle(s.listCountries))
	r.POST("/countries.json", write, g.Handle(s.createCountry))
	r.GET("/countries/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.countCountries(c)
		}
		return s.getCountry(c)
	}))
	r.PUT("/countries/:file", write, g.Handle(s.updateCountry))
	r.DELETE("/countries/:file", write, g.Handle(s.deleteCountry))
	r.GET("/countries/:file/provinces.json", read, g.Handle(s.listProvinces))
	r.GET("/countries/:file/provinces/:province", read, g.Handle(s.getProvince))
	r.PUT("/countries/:file/provinces/:province", write, g.Handle(s.updateProvince))
}

// --- JSON shapes -------------------------------------------------------------

// rateJSON is a fraction as Shopify writes tax rates: a JSON number, exact.
func rateJSON(ppm int64) json.Number { return json.Number(ppmString(ppm)) }

// percentJSON is a rate in percent (tax_percentage).
func percentJSON(ppm int64) json.Number { return json.Number(ppmString(ppm * 100)) }

type provinceJSON struct {
	ID             *int64      `json:"id"`
	CountryID      *int64      `json:"country_id"`
	Name           string      `json:"name"`
	Code           string      `json:"code"`
	Tax            json.Number `json:"tax"`
	TaxName        *string     `json:"tax_name"`
	TaxType        *string     `json:"tax_type"`
	TaxPercentage  json.Number `json:"tax_percentage"`
	ShippingZoneID *int64      `json:"shipping_zone_id"`
}

type countryJSON struct {
	ID             int64          `json:"id"`
	Name           string         `json:"name"`
	Code           string         `json:"code"`
	Tax            json.Number    `json:"tax"`
	TaxName        string         `json:"tax_name"`
	ShippingZoneID *int64         `json:"shipping_zone_id,omitempty"`
	Provinces      []provinceJSON `json:"provinces"`
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toProvinceJSON(c TaxCountry, p TaxProvince) provinceJSON {
	return provinceJSON{ID: &p.ID, CountryID: &c.ID, Name: ProvinceName(c.Code, p.Code), Code: p.Code,
		Tax: rateJSON(p.Tax), TaxName: orNull(p.TaxName), TaxType: taxType(p.TaxType), TaxPercentage: percentJSON(p.Tax)}
}

func toCountryJSON(c TaxCountry) countryJSON {
	out := countryJSON{ID: c.ID, Name: c.Name(), Code: c.Code, Tax: rateJSON(c.Tax),
		TaxName: taxTitle(c.TaxName, c.Code, ""), Provinces: []provinceJSON{}}
	for _, p := range c.Provinces {
		out.Provinces = append(out.Provinces, toProvinceJSON(c, p))
	}
	return out
}

type priceRateJSON struct {
	ID               int64   `json:"id"`
	Name             string  `json:"name"`
	Price            string  `json:"price"`
	MinOrderSubtotal *string `json:"min_order_subtotal"`
	MaxOrderSubtotal *string `json:"max_order_subtotal"`
	ShippingZoneID   int64   `json:"shipping_zone_id"`
}

type weightRateJSON struct {
	ID             int64        `json:"id"`
	Name           string       `json:"name"`
	Price          string       `json:"price"`
	WeightLow      json.Number  `json:"weight_low"`
	WeightHigh     *json.Number `json:"weight_high"`
	ShippingZoneID int64        `json:"shipping_zone_id"`
}

type zoneJSON struct {
	ID                           int64            `json:"id"`
	Name                         string           `json:"name"`
	Countries                    []countryJSON    `json:"countries"`
	PriceBasedShippingRates      []priceRateJSON  `json:"price_based_shipping_rates"`
	WeightBasedShippingRates     []weightRateJSON `json:"weight_based_shipping_rates"`
	CarrierShippingRateProviders []any            `json:"carrier_shipping_rate_providers"`
	AdminGraphqlAPIID            string           `json:"admin_graphql_api_id"`
}

// toZoneJSON writes z as Shopify does; its countries show the store's tax
// rates for them (taxes, by code).
func toZoneJSON(z Zone, cur money.Currency, taxes map[string]TaxCountry) zoneJSON {
	out := zoneJSON{ID: z.ID, Name: z.Name, Countries: []countryJSON{}, PriceBasedShippingRates: []priceRateJSON{},
		WeightBasedShippingRates: []weightRateJSON{}, CarrierShippingRateProviders: []any{},
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/DeliveryZone/%d", z.ID)}
	amount := func(a *money.Amount) *string {
		if a == nil {
			return nil
		}
		s := cur.Format(*a)
		return &s
	}
	for _, zc := range z.Countries {
		tc := taxes[zc.Code]
		tc.Code = zc.Code
		cj := countryJSON{ID: zc.ID, Name: tc.Name(), Code: zc.Code, Tax: rateJSON(tc.Tax),
			TaxName: taxTitle(tc.TaxName, zc.Code, ""), ShippingZoneID: &z.ID, Provinces: []provinceJSON{}}
		for _, code := range zc.Provinces {
			pj := provinceJSON{Name: ProvinceName(zc.Code, code), Code: code, Tax: rateJSON(0), TaxPercentage: percentJSON(0),
				ShippingZoneID: &z.ID}
			for _, p := range tc.Provinces {
				if p.Code == code {
					pj = toProvinceJSON(tc, p)
					pj.ShippingZoneID = &z.ID
				}
			}
			cj.Provinces = append(cj.Provinces, pj)
		}
		out.Countries = append(out.Countries, cj)
	}
	for _, r := range z.Rates {
		if r.Kind == WeightBased {
			wj := weightRateJSON{ID: r.ID, Name: r.Name, Price: cur.Format(r.Price), WeightLow: json.Number("0"), ShippingZoneID: z.ID}
			if r.WeightLow != nil {
				wj.WeightLow = json.Number(kg(*r.WeightLow).String())
			}
			if r.WeightHigh != nil {
				n := json.Number(kg(*r.WeightHigh).String())
				wj.WeightHigh = &n
			}
			out.WeightBasedShippingRates = append(out.WeightBasedShippingRates, wj)
			continue
		}
		out.PriceBasedShippingRates = append(out.PriceBasedShippingRates, priceRateJSON{ID: r.ID, Name: r.Name,
			Price: cur.Format(r.Price), MinOrderSubtotal: amount(r.MinSubtotal), MaxOrderSubtotal: amount(r.MaxSubtotal),
			ShippingZoneID: z.ID})
	}
	return out
}

// zoneRequest is a shipping zone as a client writes it, in Shopify's shape.
type zoneRequest struct {
	Name      string `json:"name"`
	Countries []struct {
		Code      string `json:"code"`
		Provinces []struct {
			Code string `json:"code"`
		} `json:"provinces"`
	} `json:"countries"`
	PriceBasedShippingRates []struct {
		ID               int64         `json:"id"`
		Name             string        `json:"name"`
		Price            apps.Decimal  `json:"price"`
		MinOrderSubtotal *apps.Decimal `json:"min_order_subtotal"`
		MaxOrderSubtotal *apps.Decimal `json:"max_order_subtotal"`
	} `json:"price_based_shipping_rates"`
	WeightBasedShippingRates []struct {
		ID         int64         `json:"id"`
		Name       string        `json:"name"`
		Price      apps.Decimal  `json:"price"`
		WeightLow  *apps.Decimal `json:"weight_low"`
		WeightHigh *apps.Decimal `json:"weight_high"`
	} `json:"weight_based_shipping_rates"`
}

func decimalPtr(d *apps.Decimal) *string {
	if d == nil {
		return nil
	}
	s := string(*d)
	return &s
}

func (r zoneRequest) toZoneInput() ZoneInput {
	in := ZoneInput{Name: r.Name}
	for _, c := range r.Countries {
		zc := ZoneCountryInput{Code: c.Code}
		for _, p := range c.Provinces {
			zc.Provinces = append(zc.Provinces, p.Code)
		}
		in.Countries = append(in.Countries, zc)
	}
	for _, p := range r.PriceBasedShippingRates {
		in.PriceRates = append(in.PriceRates, PriceRateInput{ID: p.ID, Name: p.Name, Price: string(p.Price),
			MinSubtotal: decimalPtr(p.MinOrderSubtotal), MaxSubtotal: decimalPtr(p.MaxOrderSubtotal)})
	}
	for _, w := range r.WeightBasedShippingRates {
		in.WeightRates = append(in.WeightRates, WeightRateInput{ID: w.ID, Name: w.Name, Price: string(w.Price),
			WeightLow: decimalPtr(w.WeightLow), WeightHigh: decimalPtr(w.WeightHigh)})
	}
	return in
}

// decodeZone reads a {"shipping_zone": {...}} body.
func decodeZone(c *gin.Context) (ZoneInput, error) {
	var req zoneRequest
	if err := apps.DecodeEnvelope(c, "shipping_zone", &req); err != nil {
		return ZoneInput{}, err
	}
	return req.toZoneInput(), nil
}

type countryRequest struct {
	Code    *string       `json:"code"`
	Tax     *apps.Decimal `json:"tax"`
	TaxName *string       `json:"tax_name"`
}

func (r countryRequest) toInput() TaxCountryInput {
	return TaxCountryInput{Code: r.Code, Tax: decimalPtr(r.Tax), TaxName: r.TaxName}
}

type provinceRequest struct {
	Tax     *apps.Decimal          `json:"tax"`
	TaxName *string                `json:"tax_name"`
	TaxType apps.Optional[*string] `json:"tax_type"`
}

func (r provinceRequest) toInput() TaxProvinceInput {
	in := TaxProvinceInput{Tax: decimalPtr(r.Tax), TaxName: r.TaxName}
	if r.TaxType.Set {
		t := ""
		if !r.TaxType.Null && r.TaxType.Value != nil {
			t = *r.TaxType.Value
		}
		in.TaxType = &t
	}
	return in
}

// --- zone handlers -------------------------------------------------------------

func zoneID(c *gin.Context) (int64, error) {
	if !strings.HasSuffix(c.Param("file"), ".json") {
		return 0, ErrZoneNotFound
	}
	return apps.FileID(c.Param("file"), ErrZoneNotFound)
}

// writeZones writes zones under key with the store's currency and taxes.
func (s *Service) writeZones(c *gin.Context, status int, key string, zs []Zone) error {
	ctx, t := c.Request.Context(), apps.PrincipalOf(c).Store
	cur, err := s.Currency(ctx, t)
	if err != nil {
		return err
	}
	tcs, err := s.TaxCountries(ctx, t)
	if err != nil {
		return err
	}
	taxes := make(map[string]TaxCountry, len(tcs))
	for _, tc := range tcs {
		taxes[tc.Code] = tc
	}
	fields := apps.SplitList(c.Query("fields"))
	items := make([]any, len(zs))
	for i, z := range zs {
		items[i] = apps.KeepFields(toZoneJSON(z, cur, taxes), fields)
	}
	if key == "shipping_zone" {
		c.JSON(status, gin.H{key: items[0]})
	} else {
		c.JSON(status, gin.H{key: items})
	}
	return nil
}

func (s *Service) listZones(c *gin.Context) error {
	zs, err := s.Zones(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	return s.writeZones(c, http.StatusOK, "shipping_zones", zs)
}

func (s *Service) createZone(c *gin.Context) error {
	in, err := decodeZone(c)
	if err != nil {
		return err
	}
	z, err := s.CreateZone(c.Request.Context(), apps.PrincipalOf(c).Store, in)
	if err != nil {
		return err
	}
	return s.writeZones(c, http.StatusCreated, "shipping_zone", []Zone{z})
}

func (s *Service) updateZone(c *gin.Context) error {
	id, err := zoneID(c)
	if err != nil {
		return err
	}
	in, err := decodeZone(c)
	if err != nil {
		return err
	}
	z, err := s.UpdateZone(c.Request.Context(), apps.PrincipalOf(c).Store, id, in)
	if err != nil {
		return err
	}
	return s.writeZones(c, http.StatusOK, "shipping_zone", []Zone{z})
}

func (s *Service) deleteZone(c *gin.Context) error {
	id, err := zoneID(c)
	if err != nil {
		return err
	}
	if err := s.DeleteZone(c.Request.Context(), apps.PrincipalOf(c).Store, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

// --- country handlers ------------------------------------------------------------

func countryID(c *gin.Context) (int64, error) {
	if !strings.HasSuffix(c.Param("file"), ".json") {
		return 0, ErrCountryNotFound
	}
	return apps.FileID(c.Param("file"), ErrCountryNotFound)
}

func writeCountry(c *gin.Context, status int, tc TaxCountry) error {
	c.JSON(status, gin.H{"country": apps.KeepFields(toCountryJSON(tc), apps.SplitList(c.Query("fields")))})
	return nil
}

func (s *Service) listCountries(c *gin.Context) error {
	cs, err := s.TaxCountries(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(cs))
	for i, tc := range cs {
		out[i] = apps.KeepFields(toCountryJSON(tc), fields)
	}
	c.JSON(http.StatusOK, gin.H{"countries": out})
	return nil
}

func (s *Service) countCountries(c *gin.Context) error {
	n, err := s.CountTaxCountries(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

func (s *Service) getCountry(c *gin.Context) error {
	id, err := countryID(c)
	if err != nil {
		return err
	}
	tc, err := s.TaxCountry(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	return writeCountry(c, http.StatusOK, tc)
}

func (s *Service) createCountry(c *gin.Context) error {
	var req countryRequest
	if err := apps.DecodeEnvelope(c, "country", &req); err != nil {
		return err
	}
	tc, err := s.CreateTaxCountry(c.Request.Context(), apps.PrincipalOf(c).Store, req.toInput())
	if err != nil {
		return err
	}
	return writeCountry(c, http.StatusCreated, tc)
}

func (s *Service) updateCountry(c *gin.Context) error {
	id, err := countryID(c)
	if err != nil {
		return err
	}
	var req countryRequest
	if err := apps.DecodeEnvelope(c, "country", &req); err != nil {
		return err
	}
	tc, err := s.UpdateTaxCountry(c.Request.Context(), apps.PrincipalOf(c).Store, id, req.toInput())
	if err != nil {
		return err
	}
	return writeCountry(c, http.StatusOK, tc)
}

func (s *Service) deleteCountry(c *gin.Context) error {
	id, err := countryID(c)
	if err != nil {
		return err
	}
	if err := s.DeleteTaxCountry(c.Request.Context(), apps.PrincipalOf(c).Store, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

// --- province handlers -------------------------------------------------------------

// provincePath reads the country id ("12") and province id ("34.json") of a
// province route.
func provincePath(c *gin.Context) (countryID, provinceID int64, err error) {
	countryID, err = strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || countryID <= 0 {
		return 0, 0, ErrCountryNotFound
	}
	if !strings.HasSuffix(c.Param("province"), ".json") {
		return 0, 0, ErrProvinceNotFound
	}
	provinceID, err = apps.FileID(c.Param("province"), ErrProvinceNotFound)
	return countryID, provinceID, err
}

func (s *Service) listProvinces(c *gin.Context) error {
	id, err := strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || id <= 0 {
		return ErrCountryNotFound
	}
	tc, err := s.TaxCountry(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(tc.Provinces))
	for i, p := range tc.Provinces {
		out[i] = apps.KeepFields(toProvinceJSON(tc, p), fields)
	}
	c.JSON(http.StatusOK, gin.H{"provinces": out})
	return nil
}

func (s *Service) writeProvince(c *gin.Context, countryID int64, p TaxProvince) error {
	tc, err := s.TaxCountry(c.Request.Context(), apps.PrincipalOf(c).Store, countryID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"province": apps.KeepFields(toProvinceJSON(tc, p), apps.SplitList(c.Query("fields")))})
	return nil
}

func (s *Service) getProvince(c *gin.Context) error {
	cid, pid, err := provincePath(c)
	if err != nil {
		return err
	}
	p, err := s.TaxProvince(c.Request.Context(), apps.PrincipalOf(c).Store, cid, pid)
	if err != nil {
		return err
	}
	return s.writeProvince(c, cid, p)
}

func (s *Service) updateProvince(c *gin.Context) error {
	cid, pid, err := provincePath(c)
	if err != nil {
		return err
	}
	var req provinceRequest
	if err := apps.DecodeEnvelope(c, "province", &req); err != nil {
		return err
	}
	p, err := s.UpdateTaxProvince(c.Request.Context(), apps.PrincipalOf(c).Store, cid, pid, req.toInput())
	if err != nil {
		return err
	}
	return s.writeProvince(c, cid, p)
}
