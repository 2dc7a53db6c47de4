package fulfillment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
)

// RequestTimeout bounds one request to a fulfillment service: connecting,
// sending and its answer.
const RequestTimeout = 10 * time.Second

// NotificationPath is where, under a service's callback URL, requests go:
// Shopify's path, so that services built for Shopify need no change.
const NotificationPath = "/fulfillment_order_notification"

// Statuses of a Request.
const (
	RequestPending   = "pending"   // not accepted yet; being retried
	RequestAccepted  = "accepted"  // the service took it: it ships the order and answers with a fulfillment
	RequestFailed    = "failed"    // given up: the merchant fulfils the order
	RequestCancelled = "cancelled" // not sent on: the order was cancelled, shipped already, or the service deleted
)

// Request is a paid order's fulfillment request to a service, after its
// latest attempt.
type Request struct {
	ID          int64
	OrderID     int64
	ServiceID   *int64 // nil once the service is deleted
	ServiceName string
	Status      string // see the Request… constants
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	AcceptedAt  *time.Time
}

// actor is who the timeline says acted for requests.
const actor = "fulfillment"

// RequestFulfillment asks store t's default fulfillment service to ship
// order orderID, once: the job fleet calls it when an order is paid. The
// first call records the request against the store's default service of
// that moment (none: the merchant fulfils by hand, and nothing happens);
// retries go to that same service and send nothing once it accepted. Only
// lines that need shipping and are not yet fulfilled are sent. The body is
// signed like a webhook (X-Shopify-Hmac-Sha256) with the signing secret of
// the app that registered the service. client must be a safehttp client:
// the callback address is checked when dialled. shopDomain is the store's
// host, sent as X-Shopify-Shop-Domain. On acceptance the order's timeline
// says "Fulfillment requested from <service>".
//
// Errors: ErrRetry (wrapped, with the reason) when the service could not be
// reached or answered other than 2xx; others when the store's data could
// not be read.
func (s *Service) RequestFulfillment(ctx context.Context, t *tenant.Tenant, orderID int64, shopDomain string, client *http.Client) error {
	var send *outgoing
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		send, err = prepare(tx, orderID)
		return err
	})
	if err != nil || send == nil {
		return err
	}
	secret := ""
	if send.provider.TokenID != nil {
		secret, err = s.db.SigningSecret(ctx, t, *send.provider.TokenID)
		if errs.Is(err, errs.NotFound) {
			return s.GiveUp(ctx, t, orderID, "the app that registered the service was uninstalled (its token was revoked)")
		}
		if err != nil {
			return err
		}
	}
	reason := post(ctx, client, send, secret, shopDomain)
	err = s.db.Tx(context.WithoutCancel(ctx), t, func(tx *gorm.DB) error {
		r, changed, err := recordAttempt(tx, send.request, reason)
		if err != nil || !changed || r.Status != RequestAccepted {
			return err
		}
		err = orders.RecordEventIn(tx, orderID, "fulfillment_requested", "Fulfillment requested from "+r.ServiceName, actor)
		if errors.Is(err, orders.ErrOrderNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if reason != "" {
		return fmt.Errorf("%w: %s", ErrRetry, reason)
	}
	return nil
}

// outgoing is a request about to be sent.
type outgoing struct {
	request  int64
	provider Provider
	body     []byte
}

// prepare finds or records order orderID's request and builds its body;
// nil when there is nothing to send.
func prepare(tx *gorm.DB, orderID int64) (*outgoing, error) {
	r, err := findRequest(tx, orderID, true)
	if err != nil && !errors.Is(err, ErrRequestNotFound) {
		return nil, err
	}
	found := err == nil
	if found && r.Status != RequestPending {
		return nil, nil // accepted (or settled otherwise) already
	}
	o, err := orders.OrderIn(tx, orderID)
	if errors.Is(err, orders.ErrOrderNotFound) {
		if found {
			return nil, settle(tx, r.ID, RequestCancelled, "the order was deleted")
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p Provider
	switch {
	case found && r.ServiceID == nil:
		return nil, settle(tx, r.ID, RequestCancelled, "the fulfillment service was deleted")
	case found:
		if p, err = findProvider(tx, *r.ServiceID); err != nil {
			return nil, err
		}
	default:
		var ok bool
		if p, ok, err = findDefault(tx); err != nil || !ok {
			return nil, err // manual fulfilment
		}
	}
	body := toRequestJSON(o)
	switch {
	case o.CancelledAt != nil && found:
		return nil, settle(tx, r.ID, RequestCancelled, "the order was cancelled")
	case len(body.Order.LineItems) == 0 && found:
		return nil, settle(tx, r.ID, RequestCancelled, "nothing was left to fulfil")
	case o.CancelledAt != nil, len(body.Order.LineItems) == 0:
		return nil, nil
	}
	if !found {
		if r, err = insertRequest(tx, orderID, p); err != nil {
			return nil, err
		}
	}
	body.RequestID = r.ID
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("render fulfillment request: %w", err)
	}
	return &outgoing{request: r.ID, provider: p, body: b}, nil
}

// post sends a request and says why it was not accepted ("" when it was).
func post(ctx context.Context, client *http.Client, send *outgoing, secret, shopDomain string) string {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	url := strings.TrimSuffix(send.provider.CallbackURL, "/") + NotificationPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(send.body))
	if err != nil {
		return "the callback URL is not a valid URL"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Storefleet-Fulfillment/1")
	req.Header.Set("X-Shopify-Shop-Domain", shopDomain)
	req.Header.Set("X-Shopify-API-Version", webhooks.APIVersion)
	req.Header.Set("X-Storefleet-Fulfillment-Request-Id", strconv.FormatInt(send.request, 10))
	if secret != "" {
		req.Header.Set("X-Shopify-Hmac-Sha256", webhooks.Sign(secret, send.body))
	}
	resp, err := client.Do(req)
	switch {
	case err != nil && safehttp.IsForbidden(err):
		return "the callback URL leads to a private or local network"
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %v", RequestTimeout)
	case err != nil:
		return "the connection failed"
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("the service answered %d", resp.StatusCode)
	}
	return ""
}

// GiveUp marks store t's order orderID's pending request failed for good,
// after its last retry, and tells the merchant on the order's timeline to
// fulfil it by hand. A request that is not pending is left as it is.
func (s *Service) GiveUp(ctx context.Context, t *tenant.Tenant, orderID int64, reason string) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		r, err := findRequest(tx, orderID, true)
		if errors.Is(err, ErrRequestNotFound) {
			return nil
		}
		if err != nil || r.Status != RequestPending {
			return err
		}
		if err := settle(tx, r.ID, RequestFailed, reason); err != nil {
			return err
		}
		err = orders.RecordEventIn(tx, orderID, "fulfillment_request_failed",
			fmt.Sprintf("Fulfillment request to %s failed after %d attempts (%s); fulfil the order manually", r.ServiceName, r.Attempts, reason), actor)
		if errors.Is(err, orders.ErrOrderNotFound) {
			return nil
		}
		return err
	})
}

// requestJSON is the body a service receives: Shopify's notification kind,
// and the order as far as shipping it needs.
type requestJSON struct {
	Kind      string           `json:"kind"`
	RequestID int64            `json:"request_id"`
	Order     requestOrderJSON `json:"order"`
}

type requestOrderJSON struct {
	ID              int64              `json:"id"`
	Name            string             `json:"name"`
	Email           string             `json:"email"`
	Phone           string             `json:"phone"`
	Currency        string             `json:"currency"`
	Note            string             `json:"note"`
	CreatedAt       time.Time          `json:"created_at"`
	LineItems       []requestLineJSON  `json:"line_items"`
	ShippingAddress *addressJSON       `json:"shipping_address"`
	ShippingLines   []shippingLineJSON `json:"shipping_lines"`
}

type requestLineJSON struct {
	ID           int64  `json:"id"`
	VariantID    *int64 `json:"variant_id"`
	ProductID    *int64 `json:"product_id"`
	SKU          string `json:"sku"`
	Title        string `json:"title"`
	VariantTitle string `json:"variant_title"`
	Vendor       string `json:"vendor"`
	Quantity     int64  `json:"quantity"`
	Grams        int64  `json:"grams"`
	Price        string `json:"price"`
}

type addressJSON struct {
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Name         string `json:"name"`
	Company      string `json:"company"`
	Address1     string `json:"address1"`
	Address2     string `json:"address2"`
	City         string `json:"city"`
	Province     string `json:"province"`
	ProvinceCode string `json:"province_code"`
	Country      string `json:"country"`
	CountryCode  string `json:"country_code"`
	Zip          string `json:"zip"`
	Phone        string `json:"phone"`
}

type shippingLineJSON struct {
	Title  string `json:"title"`
	Code   string `json:"code"`
	Source string `json:"source"`
	Price  string `json:"price"`
}

// toRequestJSON renders order o's request: the lines left to ship, each
// with the quantity still to fulfil.
func toRequestJSON(o orders.Order) requestJSON {
	cur := money.MustCurrency(o.Currency)
	out := requestJSON{Kind: "FULFILLMENT_REQUEST", Order: requestOrderJSON{ID: o.ID, Name: o.Name, Email: o.Email,
		Phone: o.Phone, Currency: o.Currency, Note: o.Note, CreatedAt: o.CreatedAt,
		LineItems: []requestLineJSON{}, ShippingLines: []shippingLineJSON{}}}
	for _, l := range o.Lines {
		if !l.RequiresShipping || l.FulfillableQuantity <= 0 {
			continue
		}
		out.Order.LineItems = append(out.Order.LineItems, requestLineJSON{ID: l.ID, VariantID: l.VariantID, ProductID: l.ProductID,
			SKU: l.SKU, Title: l.Title, VariantTitle: l.VariantTitle, Vendor: l.Vendor, Quantity: l.FulfillableQuantity,
			Grams: l.Grams, Price: cur.Format(l.Price)})
	}
	if a := o.ShippingAddress; a != nil {
		out.Order.ShippingAddress = &addressJSON{FirstName: a.FirstName, LastName: a.LastName, Name: a.Name(), Company: a.Company,
			Address1: a.Address1, Address2: a.Address2, City: a.City, Province: a.Province, ProvinceCode: a.ProvinceCode,
			Country: a.Country, CountryCode: a.CountryCode, Zip: a.Zip, Phone: a.Phone}
	}
	for _, sl := range o.ShippingLines {
		out.Order.ShippingLines = append(out.Order.ShippingLines, shippingLineJSON{Title: sl.Title, Code: sl.Code, Source: sl.Source,
			Price: cur.Format(sl.Price)})
	}
	return out
}
