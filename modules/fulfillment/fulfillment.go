// Package fulfillment is who ships a store's paid orders: the merchant by
// hand (the manual service, when nothing else is chosen), or a third-party
// fulfillment service — a warehouse an app registers by callback URL, with
// Shopify's fulfillment_services.json resource. The store's default service
// (at most one, the Storefleet extension field "default") gets a fulfillment
// request for every paid order: the job fleet calls RequestFulfillment, which
// POSTs the order to <callback_url>/fulfillment_order_notification, signed
// like a webhook with the registering app's secret, and records the request
// so that a retry after the service accepted it sends nothing. The service
// answers later through the Admin API (POST orders/{id}/fulfillments.json
// with tracking), which the orders module handles.
package fulfillment

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/tenant"
)

// Errors the package returns.
var (
	// ErrProviderNotFound is returned for a fulfillment service that is not
	// in the store, or, for a change, not the calling app's.
	ErrProviderNotFound = errs.E(errs.NotFound, "fulfillment service not found")
	// ErrRequestNotFound is returned for an order no fulfillment was
	// requested for.
	ErrRequestNotFound = errs.E(errs.NotFound, "fulfillment request not found")
	// ErrRetry is returned (wrapped, with the reason) by RequestFulfillment
	// when the service did not take the request and a later attempt may
	// succeed.
	ErrRetry = errors.New("fulfillment request not accepted")

	errNameTaken = &errs.Error{Kind: errs.Invalid, Message: "Name has already been taken",
		Fields: map[string][]string{"name": {"has already been taken"}}}
)

// Service keeps a store's fulfillment services and sends their requests.
type Service struct {
	db *tenant.DB
}

// NewService returns the fulfillment service.
func NewService(db *tenant.DB) *Service { return &Service{db: db} }

// Filter selects fulfillment services: those of one app (Token, a token
// id), or every one in the store (All).
type Filter struct {
	Token int64
	All   bool
}

// Providers lists store t's fulfillment services that f selects, oldest
// first.
func (s *Service) Providers(ctx context.Context, t *tenant.Tenant, f Filter) ([]Provider, error) {
	var out []Provider
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		out, err = findProviders(tx, f)
		return err
	})
	return out, err
}

// Provider returns store t's fulfillment service id, whichever app
// registered it.
//
// Errors: NotFound (ErrProviderNotFound).
func (s *Service) Provider(ctx context.Context, t *tenant.Tenant, id int64) (Provider, error) {
	var p Provider
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		p, err = findProvider(tx, id)
		return err
	})
	return p, err
}

// CreateProvider registers a fulfillment service in store t for the app
// whose token id is token (0: a member of staff registers it, and its
// requests go unsigned). Its handle is derived from its name; when in marks
// it the default, it replaces the store's previous default.
//
// Errors: Invalid (per field; a name whose handle another service has).
func (s *Service) CreateProvider(ctx context.Context, t *tenant.Tenant, token int64, in Input) (Provider, error) {
	if err := in.validate(true); err != nil {
		return Provider{}, err
	}
	now := time.Now().UTC()
	p := Provider{Format: "json", CreatedAt: now, UpdatedAt: now}
	if token != 0 {
		p.TokenID = &token
	}
	in.apply(&p)
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if p.Default {
			if err := clearDefault(tx, 0); err != nil {
				return err
			}
		}
		return insertProvider(tx, &p)
	})
	if err != nil {
		return Provider{}, translate(err)
	}
	return p, nil
}

// UpdateProvider changes store t's fulfillment service id. An app (token,
// a token id) may change only the services it registered; a member of
// staff (token 0) may change any.
//
// Errors: NotFound (ErrProviderNotFound), Invalid.
func (s *Service) UpdateProvider(ctx context.Context, t *tenant.Tenant, token, id int64, in Input) (Provider, error) {
	if err := in.validate(false); err != nil {
		return Provider{}, err
	}
	var p Provider
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if p, err = lockProvider(tx, token, id); err != nil {
			return err
		}
		in.apply(&p)
		p.UpdatedAt = time.Now().UTC()
		if p.Default {
			if err := clearDefault(tx, p.ID); err != nil {
				return err
			}
		}
		return updateProvider(tx, p)
	})
	if err != nil {
		return Provider{}, translate(err)
	}
	return p, nil
}

// DeleteProvider removes store t's fulfillment service id, with the rule of
// UpdateProvider. If it was the default, the store's orders are fulfilled
// by hand again; its requests stay, as history, and one still being retried
// is given up.
//
// Errors: NotFound (ErrProviderNotFound).
func (s *Service) DeleteProvider(ctx context.Context, t *tenant.Tenant, token, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if _, err := lockProvider(tx, token, id); err != nil {
			return err
		}
		return deleteProvider(tx, id)
	})
}

// translate turns a unique violation into what the caller can act on: a
// name taken, or a race for the default.
func translate(err error) error {
	if pg.Code(err) != pg.UniqueViolation {
		return err
	}
	if pg.Constraint(err) == "fulfillment_services_one_default" {
		return errs.Wrap(errs.Conflict, err, "another fulfillment service was made the default at the same moment; try again")
	}
	return errNameTaken
}

// Request returns the fulfillment request for store t's order orderID.
//
// Errors: NotFound (ErrRequestNotFound).
func (s *Service) Request(ctx context.Context, t *tenant.Tenant, orderID int64) (Request, error) {
	var r Request
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		r, err = findRequest(tx, orderID, false)
		return err
	})
	return r, err
}
