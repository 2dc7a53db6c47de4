package fulfillment

import (
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/storefleet/storefleet/internal/errs"
)

// Provider is a third-party fulfillment service (Shopify's
// FulfillmentService): a warehouse that ships a store's orders when asked
// at its callback URL.
type Provider struct {
	ID      int64
	TokenID *int64 // the app that registered it; nil for staff
	Name    string
	Handle  string // from Name: "Jupiter Fulfillment" → "jupiter-fulfillment"
	Email   string
	// CallbackURL is where requests go, as <CallbackURL>/fulfillment_order_notification.
	CallbackURL            string
	Format                 string // "json"
	InventoryManagement    bool
	TrackingSupport        bool
	RequiresShippingMethod bool
	PermitsSKUSharing      bool
	// Default marks the service that fulfils the store's paid orders; at
	// most one is.
	Default   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Input is a fulfillment service to register, or a change to one (nil:
// unchanged).
type Input struct {
	Name                   *string
	Email                  *string
	CallbackURL            *string
	Format                 *string
	InventoryManagement    *bool
	TrackingSupport        *bool
	RequiresShippingMethod *bool
	PermitsSKUSharing      *bool
	Default                *bool
}

const maxName = 255

// validate trims in's text and checks it; creating needs a name and a
// callback URL.
func (in *Input) validate(creating bool) error {
	f := errs.Fields{}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
	}
	switch {
	case in.Name == nil && creating, in.Name != nil && *in.Name == "":
		f.Add("name", "can't be blank")
	case in.Name == nil:
	case utf8.RuneCountInString(*in.Name) > maxName:
		f.Add("name", "is too long (maximum is 255 characters)")
	case strings.ContainsAny(*in.Name, "\r\n"):
		f.Add("name", "must be one line")
	case handleOf(*in.Name) == "":
		f.Add("name", "must contain a letter or a digit")
	}
	if in.CallbackURL != nil {
		*in.CallbackURL = strings.TrimSpace(*in.CallbackURL)
	}
	switch {
	case in.CallbackURL == nil && creating, in.CallbackURL != nil && *in.CallbackURL == "":
		f.Add("callback_url", "can't be blank")
	case in.CallbackURL != nil:
		checkCallback(f, *in.CallbackURL)
	}
	if in.Email != nil {
		*in.Email = strings.TrimSpace(*in.Email)
		if e := *in.Email; e != "" {
			a, err := mail.ParseAddress(e)
			if err != nil || a.Address != e || len(e) > 254 {
				f.Add("email", "must be an email address like warehouse@example.com")
			}
		}
	}
	if in.Format != nil && *in.Format != "json" {
		f.Add("format", "must be json (xml is not supported)")
	}
	return f.Err()
}

// checkCallback accepts https URLs, and http ones on the loopback interface
// for development; where they lead is checked again when requests are sent
// (safehttp), so a name that resolves to a private address gets nothing.
func checkCallback(f errs.Fields, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.RawQuery != "":
		f.Add("callback_url", "must be an absolute URL without query or fragment, like https://warehouse.example.com/storefleet")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		f.Add("callback_url", "must use https")
	}
	if len(s) > 2000 {
		f.Add("callback_url", "is too long (maximum is 2000 characters)")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// apply copies in's set fields onto p; the handle follows the name.
func (in Input) apply(p *Provider) {
	if in.Name != nil {
		p.Name, p.Handle = *in.Name, handleOf(*in.Name)
	}
	if in.Email != nil {
		p.Email = *in.Email
	}
	if in.CallbackURL != nil {
		p.CallbackURL = *in.CallbackURL
	}
	for _, b := range []struct {
		src *bool
		dst *bool
	}{{in.InventoryManagement, &p.InventoryManagement}, {in.TrackingSupport, &p.TrackingSupport},
		{in.RequiresShippingMethod, &p.RequiresShippingMethod}, {in.PermitsSKUSharing, &p.PermitsSKUSharing}, {in.Default, &p.Default}} {
		if b.src != nil {
			*b.dst = *b.src
		}
	}
}

// handleOf is Shopify's handle of a name: lower case letters and digits,
// runs of anything else one hyphen, none at the ends.
func handleOf(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			hyphen = false
			continue
		}
		hyphen = true
	}
	return b.String()
}
