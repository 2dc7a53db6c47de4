// Package shop is a store's own settings (name, contact email, currency,
// time zone) and their Admin API resource, shop.json.
package shop

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// Shop is a store's settings.
type Shop struct {
	Name     string
	Email    string
	Currency string
	Timezone string
	// TaxesIncluded says prices include tax (as EU stores price), so the
	// checkout takes tax out of them rather than adding it.
	TaxesIncluded bool
	// TaxShipping says shipping is taxed like goods.
	TaxShipping bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
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

type shopRow struct {
	Name          string    `gorm:"column:name"`
	Email         string    `gorm:"column:email"`
	Currency      string    `gorm:"column:currency"`
	Timezone      string    `gorm:"column:timezone"`
	TaxesIncluded bool      `gorm:"column:taxes_included"`
	TaxShipping   bool      `gorm:"column:tax_shipping"`
	CreatedAt     time.Time `gorm:"column:created_at"`
	UpdatedAt     time.Time `gorm:"column:updated_at"`
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
	var row shopRow
	if err := tx.Raw(`SELECT name, email, currency, timezone, taxes_included, tax_shipping, created_at, updated_at FROM shop`).Scan(&row).Error; err != nil {
		return Shop{}, fmt.Errorf("read shop: %w", err)
	}
	return Shop(row), nil
}

// shopJSON is the shop as Shopify's Admin API shows it, for the fields we
// have.
type shopJSON struct {
	ID              tenant.ID `json:"id"`
	Name            string    `json:"name"`
	Email           string    `json:"email"`
	CustomerEmail   string    `json:"customer_email"`
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
	return shopJSON{
		ID: t.ID, Name: sh.Name, Email: sh.Email, CustomerEmail: sh.Email, Domain: host, MyshopifyDomain: host,
		Currency: sh.Currency, MoneyFormat: "{{amount}} " + sh.Currency, IANATimezone: sh.Timezone, PlanName: t.Plan,
		TaxesIncluded: sh.TaxesIncluded, TaxShipping: sh.TaxShipping,
		CreatedAt: sh.CreatedAt, UpdatedAt: sh.UpdatedAt,
	}
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
		var req struct {
			Name          *string `json:"name"`
			Email         *string `json:"email"`
			TaxesIncluded *bool   `json:"taxes_included"`
			TaxShipping   *bool   `json:"tax_shipping"`
		}
		if err := apps.DecodeEnvelope(c, "shop", &req); err != nil {
			return err
		}
		sh, err := s.UpdateShop(c.Request.Context(), t, Update{Name: req.Name, Email: req.Email,
			TaxesIncluded: req.TaxesIncluded, TaxShipping: req.TaxShipping})
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"shop": s.toShopJSON(t, sh)})
		return nil
	}))
}

// Update is a change to a store's settings; nil fields stay as they are.
// The currency is not among them: prices, orders and carts are in it.
type Update struct {
	Name, Email                *string
	TaxesIncluded, TaxShipping *bool
}

// UpdateShop changes store t's settings.
//
// Errors: Invalid (an empty or overlong name, an email that is not one).
func (s *Service) UpdateShop(ctx context.Context, t *tenant.Tenant, in Update) (Shop, error) {
	f := errs.Fields{}
	if in.Name != nil {
		if n := strings.TrimSpace(*in.Name); n == "" || len(n) > 255 {
			f.Add("name", "must be 1 to 255 characters")
		} else {
			in.Name = &n
		}
	}
	if in.Email != nil && *in.Email != "" {
		e, err := auth.NormalizeEmail(*in.Email)
		if err != nil {
			f.Add("email", "%s", errs.MessageOf(err))
		} else {
			in.Email = &e
		}
	}
	if err := f.Err(); err != nil {
		return Shop{}, err
	}
	var sh Shop
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		err := tx.Exec(`UPDATE shop SET name = coalesce(?, name), email = coalesce(?, email),
			taxes_included = coalesce(?, taxes_included), tax_shipping = coalesce(?, tax_shipping), updated_at = now()`,
			in.Name, in.Email, in.TaxesIncluded, in.TaxShipping).Error
		if err != nil {
			return fmt.Errorf("update shop: %w", err)
		}
		sh, err = ShopIn(tx)
		return err
	})
	return sh, err
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
