// Package storefront is the shopper-facing surface of a store. Until themes
// land it serves a plain home page with the store's name, read through the
// tenant door, so that every store host answers as its own store.
package storefront

import (
	"html/template"
	"log/slog"
	"net/http"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenant"
)

// Handler serves a store's storefront; the store comes from the request's
// context, put there by host resolution.
type Handler struct {
	db  *tenant.DB
	log *slog.Logger
}

// New returns the storefront handler.
func New(db *tenant.DB, log *slog.Logger) *Handler {
	return &Handler{db: db, log: log}
}

type shop struct {
	Name     string
	Currency string
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Name}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><main><h1>{{.Name}}</h1><p>Welcome to {{.Name}}. Prices are in {{.Currency}}.</p></main></body></html>
`))

// ServeHTTP renders the store's home page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	t := tenant.FromContext(r.Context())
	var s shop
	err := h.db.ReadTx(r.Context(), t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT name, currency FROM shop`).Scan(&s).Error
	})
	if err != nil {
		web.WriteError(w, r, h.log, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	homePage.Execute(w, s)
}
