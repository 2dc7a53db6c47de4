package shop

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// shopRow is the shop table's one row.
type shopRow struct {
	Name          string    `gorm:"column:name"`
	Email         string    `gorm:"column:email"`
	Currency      string    `gorm:"column:currency"`
	Timezone      string    `gorm:"column:timezone"`
	TaxesIncluded bool      `gorm:"column:taxes_included"`
	TaxShipping   bool      `gorm:"column:tax_shipping"`
	Address1      string    `gorm:"column:address1"`
	Address2      string    `gorm:"column:address2"`
	City          string    `gorm:"column:city"`
	ProvinceCode  string    `gorm:"column:province_code"`
	Zip           string    `gorm:"column:zip"`
	CountryCode   string    `gorm:"column:country_code"`
	Phone         string    `gorm:"column:phone"`
	CustomerEmail string    `gorm:"column:customer_email"`
	CreatedAt     time.Time `gorm:"column:created_at"`
	UpdatedAt     time.Time `gorm:"column:updated_at"`
}

func (r shopRow) toShop() Shop {
	return Shop{Name: r.Name, Email: r.Email, Currency: r.Currency, Timezone: r.Timezone,
		TaxesIncluded: r.TaxesIncluded, TaxShipping: r.TaxShipping,
		Address: Address{Address1: r.Address1, Address2: r.Address2, City: r.City, ProvinceCode: r.ProvinceCode,
			Zip: r.Zip, CountryCode: r.CountryCode, Phone: r.Phone},
		CustomerEmail: r.CustomerEmail, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

const shopColumns = `name, email, currency, timezone, taxes_included, tax_shipping,
	address1, address2, city, province_code, zip, country_code, phone, customer_email, created_at, updated_at`

// selectShop reads the shop row; lock is "" or a locking clause
// ("FOR UPDATE").
func selectShop(tx *gorm.DB, lock string) (Shop, error) {
	var row shopRow
	if err := tx.Raw(`SELECT ` + shopColumns + ` FROM shop ` + lock).Scan(&row).Error; err != nil {
		return Shop{}, fmt.Errorf("read shop: %w", err)
	}
	return row.toShop(), nil
}

// updateShop writes every setting of sh.
func updateShop(tx *gorm.DB, sh Shop) error {
	a := sh.Address
	err := tx.Exec(`UPDATE shop SET name = ?, email = ?, currency = ?, timezone = ?, taxes_included = ?, tax_shipping = ?,
		address1 = ?, address2 = ?, city = ?, province_code = ?, zip = ?, country_code = ?, phone = ?, customer_email = ?,
		updated_at = now()`,
		sh.Name, sh.Email, sh.Currency, sh.Timezone, sh.TaxesIncluded, sh.TaxShipping,
		a.Address1, a.Address2, a.City, a.ProvinceCode, a.Zip, a.CountryCode, a.Phone, sh.CustomerEmail).Error
	if err != nil {
		return fmt.Errorf("update shop: %w", err)
	}
	return nil
}

// hasOrders says whether the store has any order, in tx.
func hasOrders(tx *gorm.DB) (bool, error) {
	var has bool
	if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM orders)`).Scan(&has).Error; err != nil {
		return false, fmt.Errorf("look for orders: %w", err)
	}
	return has, nil
}
