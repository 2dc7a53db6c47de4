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
	"github.com/google/uuid"
	"github.com/storefleet/storefleet/internal/pg"
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
// app, for an event's fan-out; a turned-off one is included, so that its
// log records what it misses.
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
	return s.deliver(ctx, t, id, ev, shopDomain, client, false)
}

// Redeliver sends ev to subscription id again, even if it was delivered: a
// replay the merchant or partner asked for.
func (s *Service) Redeliver(ctx context.Context, t *tenant.Tenant, id int64, ev tenant.Event, shopDomain string, client *http.Client) error {
	return s.deliver(ctx, t, id, ev, shopDomain, client, true)
}

func (s *Service) deliver(ctx context.Context, t *tenant.Tenant, id int64, ev tenant.Event, shopDomain string, client *http.Client, again bool) error {
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
		if ss.DisabledAt != nil && !again {
			// A disabled subscription gets nothing, but the log keeps what it
			// missed, for a replay once it is on again.
			err := tx.Exec(`INSERT INTO webhook_deliveries (subscription_id, event_id, topic, payload, status, error)
				VALUES (?, ?, ?, ?::jsonb, 'failed', 'not sent: the subscription was turned off') ON CONFLICT DO NOTHING`,
				id, ev.ID, ev.Topic, string(ev.Payload)).Error
			if err != nil {
				return fmt.Errorf("record missed delivery: %w", err)
			}
			return nil
		}
		var status []string
		err := tx.Raw(`INSERT INTO webhook_deliveries (subscription_id, event_id, topic, payload) VALUES (?, ?, ?, ?::jsonb)
			ON CONFLICT (subscription_id, event_id) DO UPDATE SET updated_at = now(),
				status = CASE WHEN ? THEN 'pending' ELSE webhook_deliveries.status END
			RETURNING status`, id, ev.ID, ev.Topic, string(ev.Payload), again).Scan(&status).Error
		if err != nil {
			return fmt.Errorf("record delivery: %w", err)
		}
		delivered = len(status) > 0 && status[0] == "delivered"
		return nil
	})
	if err != nil || sub == nil || delivered || (sub.DisabledAt != nil && !again) {
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

// TopicDisabled is the event of a subscription disabled for failing; the
// job fleet emails the merchant.
const TopicDisabled = "webhooks/disabled"

// DisabledEmail is the payload of TopicDisabled.
type DisabledEmail struct {
	Subscription int64     `json:"subscription"`
	Topic        string    `json:"topic"`
	Address      string    `json:"address"`
	FailingSince time.Time `json:"failing_since"`
}

// GiveUp marks a delivery failed for good, after its last retry. If the
// subscription has been failing for at least disableAfter, it is disabled,
// and TopicDisabled is emitted in the same transaction for the merchant to
// be told.
func (s *Service) GiveUp(ctx context.Context, t *tenant.Tenant, id int64, ev tenant.Event, reason string, disableAfter time.Duration) error {
	if err := s.record(ctx, t, id, ev, attempt{status: "failed", err: reason, noCount: true}); err != nil {
		return err
	}
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var rows []subRow
		err := tx.Raw(`UPDATE webhook_subscriptions SET disabled_at = now() WHERE id = ? AND disabled_at IS NULL
			AND failing_since IS NOT NULL AND failing_since <= ? RETURNING `+subColumns, id, time.Now().Add(-disableAfter)).Scan(&rows).Error
		if err != nil || len(rows) == 0 {
			return err
		}
		sub := rows[0].toSubscription()
		_, err = tenant.Emit(tx, TopicDisabled, DisabledEmail{Subscription: sub.ID, Topic: sub.Topic, Address: sub.Address, FailingSince: *sub.FailingSince})
		return err
	})
}

// ReplayRequest names deliveries of one subscription to send again: by id,
// every one made in [Since, Until), or, with Missed, every one not
// delivered that was made after the last one that was (what the
// subscription missed while failing or turned off; not combined with the
// others).
type ReplayRequest struct {
	DeliveryIDs []int64
	Since       *time.Time
	Until       *time.Time
	Missed      bool
}

// TopicReplay is the event of a replay request; the job fleet redelivers.
const TopicReplay = "webhooks/replay"

// ReplayPayload is the payload of TopicReplay.
type ReplayPayload struct {
	Subscription int64       `json:"subscription"`
	Events       []uuid.UUID `json:"events"`
}

// Replay asks for token's subscription id's deliveries that r names to be
// sent again, through the outbox, and says how many. At most 10,000 at once.
//
// Errors: NotFound, Invalid (nothing named, Missed with something else, or
// too many).
func (s *Service) Replay(ctx context.Context, t *tenant.Tenant, token, id int64, r ReplayRequest) (int, error) {
	if _, err := s.Subscription(ctx, t, token, id); err != nil {
		return 0, err
	}
	if r.Missed && (len(r.DeliveryIDs) > 0 || r.Since != nil || r.Until != nil) {
		return 0, &errs.Error{Kind: errs.Invalid, Message: "missed cannot be combined with delivery_ids, since or until",
			Fields: map[string][]string{"missed": {"replays everything missed since the last delivery that succeeded; leave out delivery_ids, since and until"}}}
	}
	if len(r.DeliveryIDs) == 0 && r.Since == nil && !r.Missed {
		return 0, &errs.Error{Kind: errs.Invalid, Message: "name deliveries to replay",
			Fields: map[string][]string{"replay": {"needs delivery_ids, since (and optionally until), or missed: true"}}}
	}
	var events []uuid.UUID
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		q, args := `SELECT event_id FROM webhook_deliveries WHERE subscription_id = ? AND payload IS NOT NULL`, []any{id}
		if r.Missed {
			q, args = q+` AND status <> 'delivered' AND created_at > coalesce((SELECT max(created_at) FROM webhook_deliveries
				WHERE subscription_id = ? AND status = 'delivered'), '-infinity')`, append(args, id)
		}
		if len(r.DeliveryIDs) > 0 {
			q, args = q+` AND id IN ?`, append(args, r.DeliveryIDs)
		}
		if r.Since != nil {
			q, args = q+` AND created_at >= ?`, append(args, *r.Since)
		}
		if r.Until != nil {
			q, args = q+` AND created_at < ?`, append(args, *r.Until)
		}
		if err := tx.Raw(q+` ORDER BY created_at, id LIMIT 10001`, args...).Scan(&events).Error; err != nil {
			return fmt.Errorf("find deliveries to replay: %w", err)
		}
		if len(events) > 10000 {
			return &errs.Error{Kind: errs.Invalid, Message: "too many deliveries", Fields: map[string][]string{"replay": {"may name at most 10000 deliveries; narrow the time range"}}}
		}
		if len(events) == 0 {
			return nil
		}
		_, err := tenant.Emit(tx, TopicReplay, ReplayPayload{Subscription: id, Events: events})
		return err
	})
	return len(events), err
}

// StoredEvents returns the events of subscription id's deliveries, as they
// were first delivered, for a replay.
func (s *Service) StoredEvents(ctx context.Context, t *tenant.Tenant, id int64, events []uuid.UUID) ([]tenant.Event, error) {
	var rows []struct {
		EventID   uuid.UUID `gorm:"column:event_id"`
		Topic     string    `gorm:"column:topic"`
		Payload   string    `gorm:"column:payload"`
		CreatedAt time.Time `gorm:"column:created_at"`
	}
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT event_id, topic, payload::text AS payload, created_at FROM webhook_deliveries
			WHERE subscription_id = ? AND event_id = ANY (?::uuid[]) AND payload IS NOT NULL ORDER BY created_at, id`, id, pg.UUIDArray(events)).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("read stored deliveries: %w", err)
	}
	out := make([]tenant.Event, len(rows))
	for i, r := range rows {
		out[i] = tenant.Event{ID: r.EventID, Store: t.ID, Topic: r.Topic, Payload: json.RawMessage(r.Payload), CreatedAt: r.CreatedAt}
	}
	return out, nil
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
		switch a.status {
		case "delivered":
			err = tx.Exec(`UPDATE webhook_subscriptions SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`, id).Error
		case "pending":
			// The streak starts when the failing delivery was made, not when
			// its attempt ended (a later transaction, so a later now()):
			// otherwise a replay since failing_since leaves out the very
			// delivery that started it. A delivery made before the last
			// success does not move the start before that success.
			err = tx.Exec(`UPDATE webhook_subscriptions SET failing_since = (
					SELECT greatest(d.created_at, coalesce((SELECT max(created_at) FROM webhook_deliveries
						WHERE subscription_id = d.subscription_id AND status = 'delivered'), '-infinity'))
					FROM webhook_deliveries d WHERE d.subscription_id = ? AND d.event_id = ?)
				WHERE id = ? AND failing_since IS NULL`, id, ev.ID, id).Error
		}
		if err != nil {
			return fmt.Errorf("record subscription health: %w", err)
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
