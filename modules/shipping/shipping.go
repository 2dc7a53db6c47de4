// Package shipping is where a store ships and what it charges: shipping
// zones (countries, optionally only some of their provinces) with their
// price- and weight-based rates, tax rates by country and province, and the
// per-country validation of the shipping address a checkout collects. The
// checkout calls CheckAddress, RatesIn, TaxesIn and Tax inside its own
// transaction; merchants and partners manage zones and tax rates through
// Shopify's shipping_zones.json and countries.json resources.
package shipping

import (
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/tenant"
)

// Errors the service returns.
var (
	// ErrZoneNotFound is returned for a shipping zone that is not the store's.
	ErrZoneNotFound = errs.E(errs.NotFound, "shipping zone not found")
	// ErrCountryNotFound is returned for a tax country that is not the store's.
	ErrCountryNotFound = errs.E(errs.NotFound, "country not found")
	// ErrProvinceNotFound is returned for a province not of that country.
	ErrProvinceNotFound = errs.E(errs.NotFound, "province not found")
)

// RestOfWorld is the country code of a zone or tax rate that applies to
// every country not named elsewhere, as Shopify writes it.
const RestOfWorld = "*"

// Service reads and changes a store's shipping zones and tax rates.
type Service struct {
	db *tenant.DB
}

// NewService returns the shipping service.
func NewService(db *tenant.DB) *Service { return &Service{db: db} }

// Address is a postal address as the checkout collects it.
type Address struct {
	FirstName, LastName, Company, Address1, Address2, City, ProvinceCode, CountryCode, Zip, Phone string
}

// Province is a region of a country (state, province, prefecture), for the
// checkout form's region select.
type Province struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Country is a country a checkout form offers, with what its addresses
// need, so that the form asks for exactly that.
type Country struct {
	Code             string     `json:"code"`
	Name             string     `json:"name"`
	Provinces        []Province `json:"provinces"`
	ZipRequired      bool       `json:"zip_required"`
	ProvinceRequired bool       `json:"province_required"`
}

// Parcel is what is shipped, for choosing rates.
type Parcel struct {
	CountryCode, ProvinceCode string
	Subtotal                  money.Amount
	Grams                     int64
}

// Rate is a shipping method a parcel can use. Code ("rate-12") stays the
// same for the same rate, so a checkout can remember the shopper's choice
// and find it again; Title is as shown to the shopper.
type Rate struct {
	Code, Title string
	Price       money.Amount
}
