package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/tenant"
)

// APIVersion is the Admin API version deliveries are rendered in.
const APIVersion = "2025-01"

// DeliveryTimeout bounds one delivery attempt, as Shopify's 5 seconds.
const DeliveryTimeout = 5 * time.Second

// Subscribers lists the ids of store t's subscriptions to topic, of every
// app, for an event's fan-out.
func (s *Service) Subscribers(ctx context.Context, t *tenant.Tenant, topic string) ([]int64, error) {
	var ids []int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id FROM webhook_subscriptions WHERE topic = ? ORDER BY id`, topic).Scan(&ids).Error
	})
	if err != nil {
		return nil, fmt.Errorf("list subscribers of %s: %w", topic, err)
	}
	return ids, nil
}

// Delivery is one event's delivery to one subscription, after its latest
// attempt.
type Delivery struct {
	ID              int64
	SubscriptionID  int64
	EventID         string
	Topic           string
	Status          string // pending, delivered, failed
	Attempts        int
	ResponseCode    *int
	LatencyMS       *int
	ResponseSnippet string
	Error           string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DeliveredAt     *time.Time
}

// ErrRetry is returned (wrapped) by Deliver when the endpoint did not take
// the delivery and a later attempt may succeed.
var ErrRetry = errors.New("delivery not accepted")

// Sign is the X-Shopify-Hmac-Sha256 header of body under secret: base64 of
// HMAC-SHA256 of the raw body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Deliver sends event ev of store t to subscription id, with Shopify's
// headers, signed with the subscribing app's secret, and records the
// attempt in the delivery log. shopDomain is the store's host. A
// subscription that no longer exists, or an event already delivered to it,
// is done with nothing sent. client must be a safehttp client: addresses
// are checked again when dialled.
//
// Errors: ErrRetry (wrapped, with the reason) when the endpoint failed or
// answered other than 2xx; others when the store's data could not be read.
func (s *Service) Deliver(ctx context.Context, t *tenant.Tenant, id int64, ev tenant.Event, shopDomain string, client *http.Client) error {
	var sub *Subscription
	var delivered bool
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var rows []subRow
		if err := tx.Raw(`SELECT `+subColumns+` FROM webhook_subscriptions WHERE id = ?`, id).Scan(&rows).Error; err != nil {
			return fmt.Errorf("find webhook subscription: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		ss := rows[0].toSubscription()
		sub = &ss
		var status []string
		err := tx.Raw(`INSERT INTO webhook_deliveries (subscription_id, event_id, topic) VALUES (?, ?, ?)
			ON CONFLICT (subscription_id, event_id) DO UPDATE SET updated_at = now() RETURNING status`, id, ev.ID, ev.Topic).Scan(&status).Error
		if err != nil {
			return fmt.Errorf("record delivery: %w", err)
		}
		delivered = len(status) > 0 && status[0] == "delivered"
		return nil
	})
	if err != nil || sub == nil || delivered {
		return err
	}
	secret, err := s.db.SigningSecret(ctx, t, sub.TokenID)
	if errs.Is(err, errs.NotFound) {
		return s.record(ctx, t, id, ev, attempt{status: "failed", err: "the app's token was revoked"})
	}
	if err != nil {
		return err
	}
	body := render(ev.Payload, sub.Fields)
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Address, bytes.NewReader(body))
	if err != nil {
		return s.record(ctx, t, id, ev, attempt{status: "failed", err: "the address is not a valid URL"})
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Storefleet-Webhooks/1")
	req.Header.Set("X-Shopify-Topic", ev.Topic)
	req.Header.Set("X-Shopify-Hmac-Sha256", Sign(secret, body))
	req.Header.Set("X-Shopify-Shop-Domain", shopDomain)
	req.Header.Set("X-Shopify-Webhook-Id", ev.ID.String())
	req.Header.Set("X-Shopify-Event-Id", ev.ID.String())
	req.Header.Set("X-Shopify-Triggered-At", ev.CreatedAt.UTC().Format(time.RFC3339Nano))
	req.Header.Set("X-Shopify-API-Version", APIVersion)
	start := time.Now()
	resp, err := client.Do(req)
	a := attempt{latency: time.Since(start)}
	if err != nil {
		a.status, a.err = "pending", "no answer: "+describeFailure(err)
		if rerr := s.record(context.WithoutCancel(ctx), t, id, ev, a); rerr != nil {
			return rerr
		}
		return fmt.Errorf("%w: %s", ErrRetry, a.err)
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	a.code, a.snippet = &resp.StatusCode, toText(snippet)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.status, a.err = "pending", fmt.Sprintf("answered %d", resp.StatusCode)
		if rerr := s.record(context.WithoutCancel(ctx), t, id, ev, a); rerr != nil {
			return rerr
		}
		return fmt.Errorf("%w: %s", ErrRetry, a.err)
	}
	a.status = "delivered"
	return s.record(context.WithoutCancel(ctx), t, id, ev, a)
}

// GiveUp marks a delivery failed for good, after its last retry.
func (s *Service) GiveUp(ctx context.Context, t *tenant.Tenant, id int64, ev tenant.Event, reason string) error {
	return s.record(ctx, t, id, ev, attempt{status: "failed", err: reason, noCount: true})
}

type attempt struct {
	status  string
	code    *int
	latency time.Duration
	snippet string
	err     string
	noCount bool
}

func (s *Service) record(ctx context.Context, t *tenant.Tenant, id int64, ev tenant.Event, a attempt) error {
	var latency *int
	if a.latency > 0 {
		ms := int(a.latency.Milliseconds())
		latency = &ms
	}
	inc := 1
	if a.noCount {
		inc = 0
	}
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		err := tx.Exec(`UPDATE webhook_deliveries SET status = ?, attempts = attempts + ?, response_code = coalesce(?, response_code),
			latency_ms = coalesce(?, latency_ms), response_snippet = ?, error = ?, updated_at = now(),
			delivered_at = CASE WHEN ? = 'delivered' THEN now() ELSE delivered_at END
			WHERE subscription_id = ? AND event_id = ?`,
			a.status, inc, a.code, latency, a.snippet, a.err, a.status, id, ev.ID).Error
		if err != nil {
			return fmt.Errorf("record delivery attempt: %w", err)
		}
		return nil
	})
}

// render is the body a subscription receives: the event's resource, with
// only the subscription's fields when it names some.
func render(payload json.RawMessage, fields []string) []byte {
	if len(fields) == 0 {
		return payload
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return payload
	}
	keep := map[string]json.RawMessage{}
	for _, f := range fields {
		if v, ok := m[f]; ok {
			keep[f] = v
		}
	}
	b, _ := json.Marshal(keep)
	return b
}

func describeFailure(err error) string {
	switch {
	case safehttp.IsForbidden(err):
		return "the address leads to a private or local network"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %v", DeliveryTimeout)
	}
	return "the connection failed"
}

func toText(b []byte) string {
	if !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes, not text)", len(b))
	}
	return string(b)
}

// Deliveries lists the latest deliveries of token's subscription id in
// store t, newest first.
//
// Errors: NotFound.
func (s *Service) Deliveries(ctx context.Context, t *tenant.Tenant, token, id int64, limit int) ([]Delivery, error) {
	if _, err := s.Subscription(ctx, t, token, id); err != nil {
		return nil, err
	}
	var out []Delivery
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id, subscription_id, event_id::text AS event_id, topic, status, attempts, response_code, latency_ms,
			response_snippet, error, created_at, updated_at, delivered_at FROM webhook_deliveries
			WHERE subscription_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, id, limit).Scan(&out).Error
	})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}
