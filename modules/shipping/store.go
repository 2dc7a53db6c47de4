package shipping

import (
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
)

// --- shipping zones ------------------------------------------------------------

type zoneRow struct {
	ID   int64  `gorm:"column:id"`
	Name string `gorm:"column:name"`
}

type zoneCountryRow struct {
	ID        int64  `gorm:"column:id"`
	ZoneID    int64  `gorm:"column:zone_id"`
	Code      string `gorm:"column:code"`
	Provinces string `gorm:"column:provinces"` // comma-separated: codes hold no commas
}

type rateRow struct {
	ID          int64         `gorm:"column:id"`
	ZoneID      int64         `gorm:"column:zone_id"`
	Kind        string        `gorm:"column:kind"`
	Name        string        `gorm:"column:name"`
	Price       money.Amount  `gorm:"column:price"`
	MinSubtotal *money.Amount `gorm:"column:min_subtotal"`
	MaxSubtotal *money.Amount `gorm:"column:max_subtotal"`
	WeightLow   *int64        `gorm:"column:weight_low"`
	WeightHigh  *int64        `gorm:"column:weight_high"`
}

func (r zoneCountryRow) toZoneCountry() ZoneCountry {
	c := ZoneCountry{ID: r.ID, Code: r.Code}
	if r.Provinces != "" {
		c.Provinces = strings.Split(r.Provinces, ",")
	}
	return c
}

func (r rateRow) toZoneRate() ZoneRate {
	return ZoneRate{ID: r.ID, Kind: r.Kind, Name: r.Name, Price: r.Price, MinSubtotal: r.MinSubtotal,
		MaxSubtotal: r.MaxSubtotal, WeightLow: r.WeightLow, WeightHigh: r.WeightHigh}
}

// findZonesWhere loads the zones cond selects (over shipping_zones z), with
// their countries and rates, in id order.
func findZonesWhere(tx *gorm.DB, cond string, args ...any) ([]Zone, error) {
	var rows []zoneRow
	if err := tx.Raw(`SELECT z.id, z.name FROM shipping_zones z WHERE `+cond+` ORDER BY z.id`, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find shipping zones: %w", err)
	}
	zones := make([]Zone, len(rows))
	if len(rows) == 0 {
		return zones, nil
	}
	ids := make([]int64, len(rows))
	index := make(map[int64]int, len(rows))
	for i, r := range rows {
		zones[i] = Zone{ID: r.ID, Name: r.Name}
		ids[i], index[r.ID] = r.ID, i
	}
	var countries []zoneCountryRow
	if err := tx.Raw(`SELECT id, zone_id, code, array_to_string(provinces, ',') AS provinces
		FROM shipping_zone_countries WHERE zone_id = ANY (?::bigint[]) ORDER BY zone_id, id`, pg.Int8Array(ids)).Scan(&countries).Error; err != nil {
		return nil, fmt.Errorf("find shipping zone countries: %w", err)
	}
	for _, r := range countries {
		z := &zones[index[r.ZoneID]]
		z.Countries = append(z.Countries, r.toZoneCountry())
	}
	var rates []rateRow
	if err := tx.Raw(`SELECT id, zone_id, kind, name, price, min_subtotal, max_subtotal, weight_low, weight_high
		FROM shipping_rates WHERE zone_id = ANY (?::bigint[]) ORDER BY zone_id, id`, pg.Int8Array(ids)).Scan(&rates).Error; err != nil {
		return nil, fmt.Errorf("find shipping rates: %w", err)
	}
	for _, r := range rates {
		z := &zones[index[r.ZoneID]]
		z.Rates = append(z.Rates, r.toZoneRate())
	}
	return zones, nil
}

// findZones loads zone id, or every zone when id is 0.
func findZones(tx *gorm.DB, id int64) ([]Zone, error) {
	if id == 0 {
		return findZonesWhere(tx, "true")
	}
	return findZonesWhere(tx, "z.id = ?", id)
}

// findZonesFor loads the zones that name country or the rest of the world.
func findZonesFor(tx *gorm.DB, country string) ([]Zone, error) {
	return findZonesWhere(tx, `z.id IN (SELECT zone_id FROM shipping_zone_countries WHERE code IN (?, ?))`, country, RestOfWorld)
}

func findZone(tx *gorm.DB, id int64) (Zone, error) {
	zs, err := findZones(tx, id)
	if err != nil {
		return Zone{}, err
	}
	if len(zs) == 0 {
		return Zone{}, ErrZoneNotFound
	}
	return zs[0], nil
}

// insertZone inserts z with its countries and rates and returns its id.
func insertZone(tx *gorm.DB, z Zone) (int64, error) {
	var id int64
	if err := tx.Raw(`INSERT INTO shipping_zones (name) VALUES (?) RETURNING id`, z.Name).Scan(&id).Error; err != nil {
		return 0, fmt.Errorf("insert shipping zone: %w", err)
	}
	z.ID = id
	return id, writeZoneParts(tx, z)
}

// replaceZone writes z over the zone with its id: name and countries
// replaced, rates with a kept id updated, others inserted, the rest deleted.
func replaceZone(tx *gorm.DB, z Zone) error {
	if err := tx.Exec(`UPDATE shipping_zones SET name = ?, updated_at = now() WHERE id = ?`, z.Name, z.ID).Error; err != nil {
		return fmt.Errorf("update shipping zone: %w", err)
	}
	if err := tx.Exec(`DELETE FROM shipping_zone_countries WHERE zone_id = ?`, z.ID).Error; err != nil {
		return fmt.Errorf("delete shipping zone countries: %w", err)
	}
	var kept []int64
	for _, r := range z.Rates {
		if r.ID != 0 {
			kept = append(kept, r.ID)
		}
	}
	if err := tx.Exec(`DELETE FROM shipping_rates WHERE zone_id = ? AND NOT (id = ANY (?::bigint[]))`, z.ID, pg.Int8Array(kept)).Error; err != nil {
		return fmt.Errorf("delete shipping rates: %w", err)
	}
	return writeZoneParts(tx, z)
}

func writeZoneParts(tx *gorm.DB, z Zone) error {
	for _, c := range z.Countries {
		if err := tx.Exec(`INSERT INTO shipping_zone_countries (zone_id, code, provinces) VALUES (?, ?, ?::text[])`,
			z.ID, c.Code, pg.TextArray(c.Provinces)).Error; err != nil {
			return fmt.Errorf("insert shipping zone country: %w", err)
		}
	}
	for _, r := range z.Rates {
		args := []any{r.Kind, r.Name, r.Price, r.MinSubtotal, r.MaxSubtotal, r.WeightLow, r.WeightHigh}
		if r.ID != 0 {
			err := tx.Exec(`UPDATE shipping_rates SET kind = ?, name = ?, price = ?, min_subtotal = ?, max_subtotal = ?,
				weight_low = ?, weight_high = ? WHERE id = ? AND zone_id = ?`, append(args, r.ID, z.ID)...).Error
			if err != nil {
				return fmt.Errorf("update shipping rate: %w", err)
			}
			continue
		}
		err := tx.Exec(`INSERT INTO shipping_rates (kind, name, price, min_subtotal, max_subtotal, weight_low, weight_high, zone_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, append(args, z.ID)...).Error
		if err != nil {
			return fmt.Errorf("insert shipping rate: %w", err)
		}
	}
	return nil
}

func deleteZone(tx *gorm.DB, id int64) error {
	res := tx.Exec(`DELETE FROM shipping_zones WHERE id = ?`, id)
	if res.Error != nil {
		return fmt.Errorf("delete shipping zone: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrZoneNotFound
	}
	return nil
}

// --- taxes -----------------------------------------------------------------------

type taxSettingsRow struct {
	TaxesIncluded bool `gorm:"column:taxes_included"`
	TaxShipping   bool `gorm:"column:tax_shipping"`
}

func findTaxSettings(tx *gorm.DB) (included, shipping bool, err error) {
	var row taxSettingsRow
	if err := tx.Raw(`SELECT taxes_included, tax_shipping FROM shop`).Scan(&row).Error; err != nil {
		return false, false, fmt.Errorf("read tax settings: %w", err)
	}
	return row.TaxesIncluded, row.TaxShipping, nil
}

type taxCountryRow struct {
	ID      int64  `gorm:"column:id"`
	Code    string `gorm:"column:code"`
	Tax     int64  `gorm:"column:tax"`
	TaxName string `gorm:"column:tax_name"`
}

type taxProvinceRow struct {
	ID        int64   `gorm:"column:id"`
	CountryID int64   `gorm:"column:country_id"`
	Code      string  `gorm:"column:code"`
	Tax       int64   `gorm:"column:tax"`
	TaxName   string  `gorm:"column:tax_name"`
	TaxType   *string `gorm:"column:tax_type"`
}

func (r taxProvinceRow) toTaxProvince() TaxProvince {
	p := TaxProvince{ID: r.ID, CountryID: r.CountryID, Code: r.Code, Tax: r.Tax, TaxName: r.TaxName}
	if r.TaxType != nil {
		p.TaxType = *r.TaxType
	}
	return p
}

// taxType is t as the tax_type column holds it: NULL for TaxNormal.
func taxType(t string) *string {
	if t == TaxNormal {
		return nil
	}
	return &t
}

func findTaxCountriesWhere(tx *gorm.DB, cond string, args ...any) ([]TaxCountry, error) {
	var rows []taxCountryRow
	if err := tx.Raw(`SELECT id, code, tax, tax_name FROM tax_countries WHERE `+cond+` ORDER BY id`, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find tax countries: %w", err)
	}
	out := make([]TaxCountry, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	index := make(map[int64]int, len(rows))
	for i, r := range rows {
		out[i] = TaxCountry{ID: r.ID, Code: r.Code, Tax: r.Tax, TaxName: r.TaxName}
		ids[i], index[r.ID] = r.ID, i
	}
	var provinces []taxProvinceRow
	if err := tx.Raw(`SELECT id, country_id, code, tax, tax_name, tax_type FROM tax_provinces
		WHERE country_id = ANY (?::bigint[]) ORDER BY country_id, code`, pg.Int8Array(ids)).Scan(&provinces).Error; err != nil {
		return nil, fmt.Errorf("find tax provinces: %w", err)
	}
	for _, r := range provinces {
		c := &out[index[r.CountryID]]
		c.Provinces = append(c.Provinces, r.toTaxProvince())
	}
	return out, nil
}

// findTaxCountries loads country id, or every country when id is 0.
func findTaxCountries(tx *gorm.DB, id int64) ([]TaxCountry, error) {
	if id == 0 {
		return findTaxCountriesWhere(tx, "true")
	}
	return findTaxCountriesWhere(tx, "id = ?", id)
}

func findTaxCountry(tx *gorm.DB, id int64) (TaxCountry, error) {
	cs, err := findTaxCountries(tx, id)
	if err != nil {
		return TaxCountry{}, err
	}
	if len(cs) == 0 {
		return TaxCountry{}, ErrCountryNotFound
	}
	return cs[0], nil
}

// findTaxCountryByCode loads the country with code, and whether there is one.
func findTaxCountryByCode(tx *gorm.DB, code string) (TaxCountry, bool, error) {
	cs, err := findTaxCountriesWhere(tx, "code = ?", strings.ToUpper(strings.TrimSpace(code)))
	if err != nil || len(cs) == 0 {
		return TaxCountry{}, false, err
	}
	return cs[0], true, nil
}

func countTaxCountries(tx *gorm.DB) (int64, error) {
	var n int64
	if err := tx.Raw(`SELECT count(*) FROM tax_countries`).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count tax countries: %w", err)
	}
	return n, nil
}

var errCountryTaken = &errs.Error{Kind: errs.Invalid, Message: "code has already been taken",
	Fields: map[string][]string{"code": {"has already been taken"}}}

// insertTaxCountry inserts c with its provinces and returns its id.
func insertTaxCountry(tx *gorm.DB, c TaxCountry) (int64, error) {
	var id int64
	err := tx.Raw(`INSERT INTO tax_countries (code, tax, tax_name) VALUES (?, ?, ?) RETURNING id`, c.Code, c.Tax, c.TaxName).Scan(&id).Error
	if err != nil {
		if pg.Code(err) == pg.UniqueViolation && pg.Constraint(err) == "tax_countries_code_key" {
			return 0, errCountryTaken
		}
		return 0, fmt.Errorf("insert tax country: %w", err)
	}
	if len(c.Provinces) == 0 {
		return id, nil
	}
	codes := make([]string, len(c.Provinces))
	for i, p := range c.Provinces {
		codes[i] = p.Code
	}
	if err := tx.Exec(`INSERT INTO tax_provinces (country_id, code) SELECT ?, unnest(?::text[])`, id, pg.TextArray(codes)).Error; err != nil {
		return 0, fmt.Errorf("insert tax provinces: %w", err)
	}
	return id, nil
}

func updateTaxCountry(tx *gorm.DB, c TaxCountry) error {
	if err := tx.Exec(`UPDATE tax_countries SET tax = ?, tax_name = ? WHERE id = ?`, c.Tax, c.TaxName, c.ID).Error; err != nil {
		return fmt.Errorf("update tax country: %w", err)
	}
	return nil
}

func deleteTaxCountry(tx *gorm.DB, id int64) error {
	res := tx.Exec(`DELETE FROM tax_countries WHERE id = ?`, id)
	if res.Error != nil {
		return fmt.Errorf("delete tax country: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrCountryNotFound
	}
	return nil
}

func updateTaxProvince(tx *gorm.DB, p TaxProvince) error {
	err := tx.Exec(`UPDATE tax_provinces SET tax = ?, tax_name = ?, tax_type = ? WHERE id = ? AND country_id = ?`,
		p.Tax, p.TaxName, taxType(p.TaxType), p.ID, p.CountryID).Error
	if err != nil {
		return fmt.Errorf("update tax province: %w", err)
	}
	return nil
}
