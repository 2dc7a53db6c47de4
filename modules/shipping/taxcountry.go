package shipping

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// TaxCountry is a country's tax rate in a store, with its provinces' rates
// (every province of a country whose addresses need one, created with the
// country at a rate of 0), as Shopify's countries.json has it.
type TaxCountry struct {
	ID        int64
	Code      string // ISO 3166-1 alpha-2, or RestOfWorld
	Tax       int64  // parts per million
	TaxName   string
	Provinces []TaxProvince
}

// Name is the country's name for display ("Rest of World" for "*").
func (c TaxCountry) Name() string {
	if c.Code == RestOfWorld {
		return "Rest of World"
	}
	return CountryName(c.Code)
}

// TaxProvince is a province's tax rate; TaxType is TaxNormal, TaxHarmonized
// or TaxCompounded.
type TaxProvince struct {
	ID        int64
	CountryID int64
	Code      string
	Tax       int64
	TaxName   string
	TaxType   string
}

// TaxCountryInput sets a tax country's fields; nil leaves one as it is.
// Tax is a decimal fraction as text ("0.2" for 20%).
type TaxCountryInput struct {
	Code    *string
	Tax     *string
	TaxName *string
}

// TaxProvinceInput sets a province's tax fields; nil leaves one as it is.
type TaxProvinceInput struct {
	Tax     *string
	TaxName *string
	TaxType *string // TaxNormal ("" or null), TaxHarmonized, TaxCompounded
}

func checkTaxName(f errs.Fields, name *string) *string {
	if name == nil {
		return nil
	}
	n := strings.TrimSpace(*name)
	if len(n) > 255 {
		f.Add("tax_name", "is too long (maximum is 255 characters)")
	}
	return &n
}

func checkTax(f errs.Fields, tax *string) *int64 {
	if tax == nil {
		return nil
	}
	ppm, err := parsePPM(strings.TrimSpace(*tax))
	if err != nil {
		f.Add("tax", "%s", errs.MessageOf(err))
		return nil
	}
	return &ppm
}

// apply checks in and sets its fields on c.
//
// Errors: Invalid (with per-field messages).
func (in TaxCountryInput) apply(c *TaxCountry, creating bool) error {
	f := errs.Fields{}
	if in.Code != nil {
		code := strings.ToUpper(strings.TrimSpace(*in.Code))
		switch {
		case !creating && code != c.Code:
			f.Add("code", "cannot be changed; delete the country and create %s", code)
		case code == RestOfWorld:
		default:
			if _, ok := lookupCountry(code); !ok {
				f.Add("code", "%q is not an ISO 3166-1 country code (or \"*\" for the rest of the world)", *in.Code)
			}
		}
		c.Code = code
	} else if creating {
		f.Add("code", "can't be blank")
	}
	if tax := checkTax(f, in.Tax); tax != nil {
		c.Tax = *tax
	}
	if n := checkTaxName(f, in.TaxName); n != nil {
		c.TaxName = *n
	}
	return f.Err()
}

// apply checks in and sets its fields on p.
//
// Errors: Invalid (with per-field messages).
func (in TaxProvinceInput) apply(p *TaxProvince) error {
	f := errs.Fields{}
	if tax := checkTax(f, in.Tax); tax != nil {
		p.Tax = *tax
	}
	if n := checkTaxName(f, in.TaxName); n != nil {
		p.TaxName = *n
	}
	if in.TaxType != nil {
		switch t := strings.ToLower(strings.TrimSpace(*in.TaxType)); t {
		case TaxNormal, "normal", TaxHarmonized, TaxCompounded:
			p.TaxType = strings.TrimPrefix(t, "normal")
		default:
			f.Add("tax_type", "must be null, \"harmonized\" or \"compounded\"")
		}
	}
	return f.Err()
}

// TaxCountries lists store t's tax countries with their provinces, in id
// order.
func (s *Service) TaxCountries(ctx context.Context, t *tenant.Tenant) ([]TaxCountry, error) {
	var cs []TaxCountry
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		cs, err = findTaxCountries(tx, 0)
		return err
	})
	return cs, err
}

// CountTaxCountries counts store t's tax countries.
func (s *Service) CountTaxCountries(ctx context.Context, t *tenant.Tenant) (int64, error) {
	var n int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		n, err = countTaxCountries(tx)
		return err
	})
	return n, err
}

// TaxCountry returns store t's tax country id with its provinces.
//
// Errors: NotFound (ErrCountryNotFound).
func (s *Service) TaxCountry(ctx context.Context, t *tenant.Tenant, id int64) (TaxCountry, error) {
	var c TaxCountry
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = findTaxCountry(tx, id)
		return err
	})
	return c, err
}

// CreateTaxCountry adds a country's tax rate to store t, with its provinces
// at a rate of 0 (when its addresses have provinces).
//
// Errors: Invalid (with per-field messages; a country the store has).
func (s *Service) CreateTaxCountry(ctx context.Context, t *tenant.Tenant, in TaxCountryInput) (TaxCountry, error) {
	var c TaxCountry
	if err := in.apply(&c, true); err != nil {
		return TaxCountry{}, err
	}
	if c.Code != RestOfWorld {
		cc, _ := lookupCountry(c.Code)
		if cc.ProvinceRequired {
			for _, p := range cc.Provinces {
				c.Provinces = append(c.Provinces, TaxProvince{Code: p.Code})
			}
		}
	}
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c.ID, err = insertTaxCountry(tx, c)
		return err
	})
	if err != nil {
		return TaxCountry{}, err
	}
	return s.TaxCountry(ctx, t, c.ID)
}

// UpdateTaxCountry changes the tax rate or name of store t's country id.
//
// Errors: NotFound (ErrCountryNotFound), Invalid (with per-field messages).
func (s *Service) UpdateTaxCountry(ctx context.Context, t *tenant.Tenant, id int64, in TaxCountryInput) (TaxCountry, error) {
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		c, err := findTaxCountry(tx, id)
		if err != nil {
			return err
		}
		if err := in.apply(&c, false); err != nil {
			return err
		}
		return updateTaxCountry(tx, c)
	})
	if err != nil {
		return TaxCountry{}, err
	}
	return s.TaxCountry(ctx, t, id)
}

// DeleteTaxCountry removes store t's country id and its provinces' rates.
//
// Errors: NotFound (ErrCountryNotFound).
func (s *Service) DeleteTaxCountry(ctx context.Context, t *tenant.Tenant, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error { return deleteTaxCountry(tx, id) })
}

// TaxProvince returns province id of store t's country countryID.
//
// Errors: NotFound (ErrCountryNotFound, ErrProvinceNotFound).
func (s *Service) TaxProvince(ctx context.Context, t *tenant.Tenant, countryID, id int64) (TaxProvince, error) {
	var p TaxProvince
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		c, err := findTaxCountry(tx, countryID)
		if err != nil {
			return err
		}
		p, err = provinceOf(c, id)
		return err
	})
	return p, err
}

// UpdateTaxProvince changes the tax of province id of store t's country
// countryID.
//
// Errors: NotFound (ErrCountryNotFound, ErrProvinceNotFound), Invalid (with
// per-field messages).
func (s *Service) UpdateTaxProvince(ctx context.Context, t *tenant.Tenant, countryID, id int64, in TaxProvinceInput) (TaxProvince, error) {
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		c, err := findTaxCountry(tx, countryID)
		if err != nil {
			return err
		}
		p, err := provinceOf(c, id)
		if err != nil {
			return err
		}
		if err := in.apply(&p); err != nil {
			return err
		}
		return updateTaxProvince(tx, p)
	})
	if err != nil {
		return TaxProvince{}, err
	}
	return s.TaxProvince(ctx, t, countryID, id)
}

func provinceOf(c TaxCountry, id int64) (TaxProvince, error) {
	for _, p := range c.Provinces {
		if p.ID == id {
			return p, nil
		}
	}
	return TaxProvince{}, ErrProvinceNotFound
}
