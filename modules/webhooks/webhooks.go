// Package webhooks is partners' subscriptions to a store's events: which
// app (API token) wants which topic delivered to which address. Deliveries
// come with the job fleet; this package keeps the subscriptions, with
// Shopify's webhooks.json resource.
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/tenant"
)

// Topics are the events a store can be subscribed to, and the object a
// subscriber must be allowed to read to receive each.
var Topics = map[string]string{
	"products/create": "products", "products/update": "products", "products/delete": "products",
	"inventory_levels/update": "inventory", "inventory_levels/connect": "inventory", "inventory_levels/disconnect": "inventory",
	"customers/create": "customers", "customers/update": "customers", "customers/delete": "customers",
	"orders/create": "orders", "orders/updated": "orders", "orders/paid": "orders", "orders/cancelled": "orders",
	"orders/fulfilled": "orders", "orders/partially_fulfilled": "orders", "orders/delete": "orders",
	"order_transactions/create": "orders", "refunds/create": "orders",
	"fulfillments/create": "fulfillments", "fulfillments/update": "fulfillments",
	"app/uninstalled": "", "shop/update": "",
}

// ErrSubscriptionNotFound is for a subscription that is not the caller's.
var ErrSubscriptionNotFound = errs.E(errs.NotFound, "webhook subscription not found")

// Subscription is one app's wish to hear of one topic at one address.
type Subscription struct {
	ID        int64
	TokenID   int64
	Topic     string
	Address   string
	Format    string
	Fields    []string
	CreatedAt time.Time
	UpdatedAt time.Time
	// FailingSince is the first failed delivery after the last success.
	FailingSince *time.Time
	// DisabledAt says the subscription was switched off after failing for
	// too long; nothing is delivered until it is enabled again.
	DisabledAt *time.Time
}

// Input is a subscription to make, or a change to one (nil: unchanged).
type Input struct {
	Topic   *string
	Address *string
	Fields  *[]string
	Enabled *bool // true switches a disabled subscription back on (a Storefleet extension)
}

// Service keeps subscriptions.
type Service struct {
	db           *tenant.DB
	allowPrivate bool
	resolver     safehttp.Resolver
}

// Option tunes a Service made by NewService.
type Option func(*Service)

// AllowPrivate lets subscriptions go to addresses that are, or resolve to,
// loopback, private or otherwise non-public addresses, and skips looking the
// address up at all: for local development and tests only (the fleet's
// ALLOW_PRIVATE_URLS). Without it, Subscribe and Update refuse them.
func AllowPrivate(allow bool) Option { return func(s *Service) { s.allowPrivate = allow } }

// WithResolver looks addresses up through r instead of the system
// resolver, for tests whose names need not exist.
func WithResolver(r safehttp.Resolver) Option { return func(s *Service) { s.resolver = r } }

// NewService returns the webhooks service. By default an address must
// resolve, and only to public addresses (see AllowPrivate).
func NewService(db *tenant.DB, opts ...Option) *Service {
	s := &Service{db: db, resolver: net.DefaultResolver}
	for _, o := range opts {
		o(s)
	}
	return s
}

// checkReachable refuses, when the service does not allow private
// addresses, an address whose host is, or resolves to, one that is not
// public (SSRF: a partner pointing the fleet at its own network), or does
// not resolve at all. Deliveries check again when they dial, since a name
// may change after it was saved.
func (s *Service) checkReachable(ctx context.Context, address *string) error {
	if address == nil || s.allowPrivate {
		return nil
	}
	u, err := url.Parse(*address)
	if err != nil {
		return fmt.Errorf("parse address: %w", err) // validate let it through: not expected
	}
	err = safehttp.CheckHost(ctx, s.resolver, u.Hostname())
	if ae, ok := errors.AsType[*safehttp.AddrError](err); ok {
		return errs.Fields{"address": {fmt.Sprintf("resolves to a private address (%s); webhooks are delivered "+
			"only to public servers, so give an address on the internet", ae.Addr)}}.Err()
	}
	if errors.Is(err, safehttp.ErrUnresolvable) {
		return errs.Fields{"address": {fmt.Sprintf("could not be resolved: %s has no address in DNS; check the host name", u.Hostname())}}.Err()
	}
	return err
}

// checkAddress accepts https addresses, and http ones on the loopback
// interface for development.
func checkAddress(f errs.Fields, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.Fragment != "":
		f.Add("address", "must be an absolute URL like https://example.com/webhooks")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		f.Add("address", "must use https")
	}
	if len(s) > 2000 {
		f.Add("address", "is too long (maximum is 2000 characters)")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (in *Input) validate(creating bool) error {
	f := errs.Fields{}
	if creating && in.Topic == nil {
		f.Add("topic", "can't be blank")
	}
	if creating && in.Address == nil {
		f.Add("address", "can't be blank")
	}
	if in.Topic != nil {
		*in.Topic = strings.TrimSpace(*in.Topic)
		if _, ok := Topics[*in.Topic]; !ok {
			f.Add("topic", "%q is not a known topic (known: %s)", *in.Topic, strings.Join(sortedTopics(), ", "))
		}
	}
	if in.Address != nil {
		*in.Address = strings.TrimSpace(*in.Address)
		checkAddress(f, *in.Address)
	}
	if in.Fields != nil && len(*in.Fields) > 100 {
		f.Add("fields", "may list at most 100 fields")
	}
	return f.Err()
}

type subRow struct {
	ID           int64      `gorm:"column:id"`
	TokenID      int64      `gorm:"column:token_id"`
	Topic        string     `gorm:"column:topic"`
	Address      string     `gorm:"column:address"`
	Format       string     `gorm:"column:format"`
	Fields       string     `gorm:"column:fields"`
	CreatedAt    time.Time  `gorm:"column:created_at"`
	UpdatedAt    time.Time  `gorm:"column:updated_at"`
	FailingSince *time.Time `gorm:"column:failing_since"`
	DisabledAt   *time.Time `gorm:"column:disabled_at"`
}

const subColumns = `id, token_id, topic, address, format, array_to_string(fields, ',') AS fields, created_at, updated_at,
	failing_since, disabled_at`

func (r subRow) toSubscription() Subscription {
	s := Subscription{ID: r.ID, TokenID: r.TokenID, Topic: r.Topic, Address: r.Address, Format: r.Format, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, FailingSince: r.FailingSince, DisabledAt: r.DisabledAt}
	if r.Fields != "" {
		s.Fields = strings.Split(r.Fields, ",")
	}
	return s
}

var errTaken = &errs.Error{Kind: errs.Invalid, Message: "address for this topic has already been taken",
	Fields: map[string][]string{"address": {"for this topic has already been taken"}}}

// Filter selects a token's subscriptions.
type Filter struct {
	Topic   string
	Address string
	After   int64
	Limit   int
}

// Subscriptions lists token's subscriptions in store t.
func (s *Service) Subscriptions(ctx context.Context, t *tenant.Tenant, token int64, f Filter) ([]Subscription, error) {
	var rows []subRow
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		q := `SELECT ` + subColumns + ` FROM webhook_subscriptions WHERE token_id = ? AND id > ?`
		args := []any{token, f.After}
		if f.Topic != "" {
			q += ` AND topic = ?`
			args = append(args, f.Topic)
		}
		if f.Address != "" {
			q += ` AND address = ?`
			args = append(args, f.Address)
		}
		return tx.Raw(q+` ORDER BY id LIMIT ?`, append(args, f.Limit)...).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("list webhook subscriptions: %w", err)
	}
	out := make([]Subscription, len(rows))
	for i, r := range rows {
		out[i] = r.toSubscription()
	}
	return out, nil
}

// Subscription returns token's subscription id in store t.
//
// Errors: NotFound (another app's subscriptions are not found either).
func (s *Service) Subscription(ctx context.Context, t *tenant.Tenant, token, id int64) (Subscription, error) {
	var rows []subRow
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT `+subColumns+` FROM webhook_subscriptions WHERE id = ? AND token_id = ?`, id, token).Scan(&rows).Error
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("find webhook subscription: %w", err)
	}
	if len(rows) == 0 {
		return Subscription{}, ErrSubscriptionNotFound
	}
	return rows[0].toSubscription(), nil
}

// Subscribe makes a subscription for token in store t. The caller checks
// that the token may read the topic's object (see Topics).
//
// Errors: Invalid (topic, address, an address that leads to a non-public
// server or does not resolve, or the same topic and address twice).
func (s *Service) Subscribe(ctx context.Context, t *tenant.Tenant, token int64, in Input) (Subscription, error) {
	if err := in.validate(true); err != nil {
		return Subscription{}, err
	}
	if err := s.checkReachable(ctx, in.Address); err != nil {
		return Subscription{}, err
	}
	fields := []string{}
	if in.Fields != nil {
		fields = *in.Fields
	}
	var row subRow
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`INSERT INTO webhook_subscriptions (token_id, topic, address, fields) VALUES (?, ?, ?, string_to_array(?, ','))
			RETURNING `+subColumns, token, *in.Topic, *in.Address, strings.Join(fields, ",")).Scan(&row).Error
	})
	if pg.Code(err) == pg.UniqueViolation {
		return Subscription{}, errTaken
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("insert webhook subscription: %w", err)
	}
	return row.toSubscription(), nil
}

// Update changes token's subscription id in store t.
//
// Errors: NotFound, Invalid (as Subscribe).
func (s *Service) Update(ctx context.Context, t *tenant.Tenant, token, id int64, in Input) (Subscription, error) {
	if err := in.validate(false); err != nil {
		return Subscription{}, err
	}
	if err := s.checkReachable(ctx, in.Address); err != nil {
		return Subscription{}, err
	}
	var rows []subRow
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		set := []string{"updated_at = now()"}
		var args []any
		if in.Topic != nil {
			set, args = append(set, "topic = ?"), append(args, *in.Topic)
		}
		if in.Address != nil {
			set, args = append(set, "address = ?"), append(args, *in.Address)
		}
		if in.Fields != nil {
			set, args = append(set, "fields = string_to_array(?, ',')"), append(args, strings.Join(*in.Fields, ","))
		}
		if in.Enabled != nil && *in.Enabled {
			set = append(set, "disabled_at = NULL", "failing_since = NULL")
		}
		return tx.Raw(`UPDATE webhook_subscriptions SET `+strings.Join(set, ", ")+` WHERE id = ? AND token_id = ? RETURNING `+subColumns,
			append(args, id, token)...).Scan(&rows).Error
	})
	if pg.Code(err) == pg.UniqueViolation {
		return Subscription{}, errTaken
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("update webhook subscription: %w", err)
	}
	if len(rows) == 0 {
		return Subscription{}, ErrSubscriptionNotFound
	}
	return rows[0].toSubscription(), nil
}

// Unsubscribe deletes token's subscription id in store t.
//
// Errors: NotFound.
func (s *Service) Unsubscribe(ctx context.Context, t *tenant.Tenant, token, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM webhook_subscriptions WHERE id = ? AND token_id = ?`, id, token)
		if res.Error != nil {
			return fmt.Errorf("delete webhook subscription: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrSubscriptionNotFound
		}
		return nil
	})
}

// sortedTopics lists the known topics, for messages.
func sortedTopics() []string {
	out := make([]string, 0, len(Topics))
	for k := range Topics {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
