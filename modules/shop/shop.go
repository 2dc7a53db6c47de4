// Package shop is a store's own settings (name, contact and sender emails,
// postal address, currency, time zone, taxes) and their Admin API resource,
// shop.json.
package shop

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// Shop is a store's settings.
type Shop struct {
	Name string
	// Email is the store's contact email: Storefleet writes to the
	// merchant there.
	Email    string
	Currency string
	Timezone string
	// TaxesIncluded says prices include tax (as EU stores price), so the
	// checkout takes tax out of them rather than adding it.
	TaxesIncluded bool
	// TaxShipping says shipping is taxed like goods.
	TaxShipping bool
	// Address is the store's postal address, shown in its customer emails'
	// footer; zero until the merchant gives it.
	Address Address
	// CustomerEmail is the sender email (Shopify's customer_email): where
	// customers' replies to the store's emails go. "" means Email; see
	// ReplyEmail.
	CustomerEmail string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ReplyEmail is where customers' replies to the store's emails go: the
// sender email, else the contact email; "" when the store has neither.
func (sh Shop) ReplyEmail() string {
	if sh.CustomerEmail != "" {
		return sh.CustomerEmail
	}
	return sh.Email
}

// Service reads and changes a store's settings.
type Service struct {
	db   *tenant.DB
	urls tenant.URLs
}

// NewService returns the shop service.
func NewService(db *tenant.DB, urls tenant.URLs) *Service {
	return &Service{db: db, urls: urls}
}

// Shop returns store t's settings.
func (s *Service) Shop(ctx context.Context, t *tenant.Tenant) (Shop, error) {
	var sh Shop
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		sh, err = ShopIn(tx)
		return err
	})
	return sh, err
}

// ShopIn returns the settings of the store whose transaction tx is.
func ShopIn(tx *gorm.DB) (Shop, error) {
	return selectShop(tx, "")
}

// shopJSON is the shop as Shopify's Admin API shows it, for the fields we
// have.
type shopJSON struct {
	ID              tenant.ID `json:"id"`
	Name            string    `json:"name"`
	Email           string    `json:"email"`
	CustomerEmail   string    `json:"customer_email"`
	Address1        string    `json:"address1"`
	Address2        string    `json:"address2"`
	City            string    `json:"city"`
	ProvinceCode    string    `json:"province_code"`
	Zip             string    `json:"zip"`
	CountryCode     string    `json:"country_code"`
	CountryName     string    `json:"country_name"`
	Phone           string    `json:"phone"`
	Domain          string    `json:"domain"`
	MyshopifyDomain string    `json:"myshopify_domain"`
	Currency        string    `json:"currency"`
	MoneyFormat     string    `json:"money_format"`
	IANATimezone    string    `json:"iana_timezone"`
	PlanName        string    `json:"plan_name"`
	TaxesIncluded   bool      `json:"taxes_included"`
	TaxShipping     bool      `json:"tax_shipping"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func (s *Service) toShopJSON(t *tenant.Tenant, sh Shop) shopJSON {
	host := t.Slug + "." + s.urls.Domain
	a := sh.Address
	return shopJSON{
		ID: t.ID, Name: sh.Name, Email: sh.Email, CustomerEmail: sh.ReplyEmail(),
		Address1: a.Address1, Address2: a.Address2, City: a.City, ProvinceCode: a.ProvinceCode, Zip: a.Zip,
		CountryCode: a.CountryCode, CountryName: a.Country(), Phone: a.Phone,
		Domain: host, MyshopifyDomain: host,
		Currency: sh.Currency, MoneyFormat: "{{amount}} " + sh.Currency, IANATimezone: sh.Timezone, PlanName: t.Plan,
		TaxesIncluded: sh.TaxesIncluded, TaxShipping: sh.TaxShipping,
		CreatedAt: sh.CreatedAt, UpdatedAt: sh.UpdatedAt,
	}
}

// updateRequest is PUT shop.json's body: the fields a merchant may change,
// named as shop.json shows them. The currency is not among them (see
// Settings).
type updateRequest struct {
	Name          *string `json:"name"`
	Email         *string `json:"email"`
	CustomerEmail *string `json:"customer_email"`
	TaxesIncluded *bool   `json:"taxes_included"`
	TaxShipping   *bool   `json:"tax_shipping"`
	Address1      *string `json:"address1"`
	Address2      *string `json:"address2"`
	City          *string `json:"city"`
	ProvinceCode  *string `json:"province_code"`
	Zip           *string `json:"zip"`
	CountryCode   *string `json:"country_code"`
	Phone         *string `json:"phone"`
}

func (req updateRequest) toUpdate() Update {
	return Update{Name: req.Name, Email: req.Email, CustomerEmail: req.CustomerEmail,
		TaxesIncluded: req.TaxesIncluded, TaxShipping: req.TaxShipping,
		Address: AddressUpdate{Address1: req.Address1, Address2: req.Address2, City: req.City, ProvinceCode: req.ProvinceCode,
			Zip: req.Zip, CountryCode: req.CountryCode, Phone: req.Phone}}
}

// AdminRoutes mounts shop.json. Any token of the store may read it, as on
// Shopify. Changing it (PUT, a Storefleet extension: Shopify's shop.json
// is read-only) is for the store's owner and admins, as the dashboard's
// settings; no app scope grants it.
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	r.GET("/shop.json", g.Handle(func(c *gin.Context) error {
		t := apps.PrincipalOf(c).Store
		sh, err := s.Shop(c.Request.Context(), t)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"shop": s.toShopJSON(t, sh)})
		return nil
	}))
	r.PUT("/shop.json", g.Require("shop", rbac.Write), g.Handle(func(c *gin.Context) error {
		t := apps.PrincipalOf(c).Store
		var req updateRequest
		if err := apps.DecodeEnvelope(c, "shop", &req); err != nil {
			return err
		}
		sh, err := s.UpdateShop(c.Request.Context(), t, req.toUpdate())
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"shop": s.toShopJSON(t, sh)})
		return nil
	}))
}

// Update is a change to a store's settings; nil fields stay as they are.
// The currency is not among them: prices, orders and carts are in it (see
// Settings).
type Update struct {
	Name, Email *string
	// CustomerEmail is the sender email; "" sends replies to Email.
	CustomerEmail              *string
	TaxesIncluded, TaxShipping *bool
	// Address changes the store's address field by field; the result is
	// checked whole.
	Address AddressUpdate
}

// UpdateShop changes store t's settings.
//
// Errors: Invalid (an empty or overlong name, an email that is not one, an
// address without street, city or country, or with a country that is not
// an ISO 3166-1 code).
func (s *Service) UpdateShop(ctx context.Context, t *tenant.Tenant, in Update) (Shop, error) {
	return s.UpdateSettings(ctx, t, Settings{Update: in})
}

// CurrencyIn returns the store's currency inside a transaction another
// module's service already holds (prices are parsed and stored in it).
func CurrencyIn(tx *gorm.DB) (money.Currency, error) {
	var code string
	if err := tx.Raw(`SELECT currency FROM shop`).Scan(&code).Error; err != nil {
		return money.Currency{}, fmt.Errorf("read shop currency: %w", err)
	}
	return money.ParseCurrency(code)
}

// LockCurrencyIn is CurrencyIn for a transaction that writes an order: it
// holds the shop row FOR SHARE until the transaction ends, so the currency
// cannot change between reading it and the order's commit (UpdateSettings
// takes the row FOR UPDATE before it looks for orders). It needs a
// read-write transaction.
func LockCurrencyIn(tx *gorm.DB) (money.Currency, error) {
	var code string
	if err := tx.Raw(`SELECT currency FROM shop FOR SHARE`).Scan(&code).Error; err != nil {
		return money.Currency{}, fmt.Errorf("lock shop currency: %w", err)
	}
	return money.ParseCurrency(code)
}

// Currency returns store t's currency.
func (s *Service) Currency(ctx context.Context, t *tenant.Tenant) (money.Currency, error) {
	var c money.Currency
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = CurrencyIn(tx)
		return err
	})
	return c, err
}
