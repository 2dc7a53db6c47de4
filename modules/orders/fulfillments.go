package orders

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/tenant"
)

// Fulfillment is a shipment of some of an order's lines, with its tracking.
type Fulfillment struct {
	ID              int64
	OrderID         int64
	Name            string // "#1001.1"
	Status          string // "success" or "cancelled" (Shopify's others are not used)
	TrackingCompany string
	TrackingNumbers []string
	TrackingURLs    []string
	NotifyCustomer  bool
	Lines           []FulfillmentLine
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// FulfillmentLine is how many of an order line a fulfillment ships.
type FulfillmentLine struct {
	LineItemID int64
	Quantity   int64
}

// Tracking is a fulfillment's tracking information.
type Tracking struct {
	Company string
	Numbers []string
	URLs    []string
}

// NewFulfillment is a shipment to record: Lines (all that remain to
// fulfil when empty) and tracking.
type NewFulfillment struct {
	OrderID        int64
	Lines          []FulfillmentLine
	Tracking       Tracking
	NotifyCustomer bool
	Actor          string
}

func (tr Tracking) validate(f errs.Fields) {
	if len(tr.Company) > maxText {
		f.Add("tracking_company", "is too long (maximum is %d characters)", maxText)
	}
	if len(tr.Numbers) > 50 || len(tr.URLs) > 50 {
		f.Add("tracking_numbers", "may hold at most 50 numbers and 50 URLs")
	}
	for _, n := range tr.Numbers {
		if n == "" || len(n) > maxText || strings.ContainsAny(n, "\n\r") {
			f.Add("tracking_number", "must be one line of at most %d characters", maxText)
			break
		}
	}
	for _, u := range tr.URLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || len(u) > 2048 || strings.ContainsAny(u, "\n\r") {
			f.Add("tracking_url", "must be an http or https URL")
			break
		}
	}
}

// orderFulfillmentStatus is Shopify's fulfillment_status of an order with
// lines ls: fulfilled when nothing is left to ship, partial when some is
// shipped, null otherwise.
func orderFulfillmentStatus(ls []LineItem) *string {
	var shipped, left int64
	for _, l := range ls {
		shipped += l.FulfilledQuantity
		left += max(l.Quantity-l.FulfilledQuantity-l.RefundedQuantity, 0)
	}
	var s string
	switch {
	case shipped > 0 && left == 0:
		s = "fulfilled"
	case shipped > 0:
		s = "partial"
	default:
		return nil
	}
	return &s
}

// CreateFulfillment records a shipment of store t's order: the lines
// given, or everything left to fulfil. The order becomes partially
// fulfilled or fulfilled; emits "fulfillments/create" and
// "orders/partially_fulfilled" or "orders/fulfilled".
//
// Errors: NotFound (ErrOrderNotFound), Invalid (a line not the order's,
// more than is fulfillable, nothing left to fulfil, a cancelled order, bad
// tracking).
func (s *Service) CreateFulfillment(ctx context.Context, t *tenant.Tenant, in NewFulfillment) (Fulfillment, error) {
	f := errs.Fields{}
	in.Tracking.validate(f)
	if err := f.Err(); err != nil {
		return Fulfillment{}, err
	}
	var out Fulfillment
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		o, err := lockOrder(tx, in.OrderID)
		if err != nil {
			return err
		}
		if o.CancelledAt != nil {
			return invalid("base", "a cancelled order cannot be fulfilled")
		}
		byID := map[int64]LineItem{}
		for _, l := range o.Lines {
			byID[l.ID] = l
		}
		lines := in.Lines
		if len(lines) == 0 {
			for _, l := range o.Lines {
				if l.FulfillableQuantity > 0 {
					lines = append(lines, FulfillmentLine{LineItemID: l.ID, Quantity: l.FulfillableQuantity})
				}
			}
			if len(lines) == 0 {
				return invalid("line_items", "the order has nothing left to fulfil")
			}
		}
		want := map[int64]int64{}
		for _, fl := range lines {
			l, ok := byID[fl.LineItemID]
			switch {
			case !ok:
				return invalid("line_items", fmt.Sprintf("line item %d is not on order %s", fl.LineItemID, o.Name))
			case fl.Quantity <= 0:
				return invalid("line_items", fmt.Sprintf("line item %d needs a positive quantity", fl.LineItemID))
			}
			want[fl.LineItemID] += fl.Quantity
			if want[fl.LineItemID] > l.FulfillableQuantity {
				return invalid("line_items", fmt.Sprintf("line item %d (%s) has only %d left to fulfil", l.ID, l.Title, l.FulfillableQuantity))
			}
		}
		merged := make([]FulfillmentLine, 0, len(want))
		for _, l := range o.Lines {
			if q := want[l.ID]; q > 0 {
				merged = append(merged, FulfillmentLine{LineItemID: l.ID, Quantity: q})
			}
		}
		now := time.Now().UTC()
		out = Fulfillment{OrderID: o.ID, Status: "success", TrackingCompany: in.Tracking.Company,
			TrackingNumbers: in.Tracking.Numbers, TrackingURLs: in.Tracking.URLs, NotifyCustomer: in.NotifyCustomer,
			Lines: merged, CreatedAt: now, UpdatedAt: now}
		if err := insertFulfillment(tx, &out); err != nil {
			return err
		}
		o, err = OrderIn(tx, o.ID)
		if err != nil {
			return err
		}
		o.FulfillmentStatus, o.UpdatedAt = orderFulfillmentStatus(o.Lines), now
		if err := setOrderState(tx, o); err != nil {
			return err
		}
		fs, err := findFulfillments(tx, o.ID, out.ID)
		if err != nil {
			return err
		}
		out = fs[0]
		if _, err := tenant.Emit(tx, TopicFulfillmentCreate, toFulfillmentJSON(out, o, money.MustCurrency(o.Currency))); err != nil {
			return err
		}
		topic, verb := TopicPartiallyFulfilled, "partially_fulfilled"
		if o.FulfillmentStatus != nil && *o.FulfillmentStatus == "fulfilled" {
			topic, verb = TopicFulfilled, "fulfilled"
		}
		return recordChange(tx, o.ID, verb, fmt.Sprintf("Fulfillment %s was created", out.Name), in.Actor, now, topic)
	})
	return out, err
}

// Fulfillments lists store t's order orderID's fulfillments.
//
// Errors: NotFound (ErrOrderNotFound).
func (s *Service) Fulfillments(ctx context.Context, t *tenant.Tenant, orderID int64) ([]Fulfillment, error) {
	var fs []Fulfillment
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		if _, err := OrderIn(tx, orderID); err != nil {
			return err
		}
		var err error
		fs, err = findFulfillments(tx, orderID)
		return err
	})
	return fs, err
}

// FulfillmentsIn returns the fulfillments of order orderID, oldest first,
// inside tx (the order status page shows them with their tracking).
func FulfillmentsIn(tx *gorm.DB, orderID int64) ([]Fulfillment, error) {
	return findFulfillments(tx, orderID)
}

// Fulfillment returns fulfillment id of store t's order orderID.
//
// Errors: NotFound (ErrOrderNotFound, ErrFulfillmentNotFound).
func (s *Service) Fulfillment(ctx context.Context, t *tenant.Tenant, orderID, id int64) (Fulfillment, error) {
	var f Fulfillment
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		f, err = fulfillmentIn(tx, orderID, id)
		return err
	})
	return f, err
}

func fulfillmentIn(tx *gorm.DB, orderID, id int64) (Fulfillment, error) {
	if _, err := OrderIn(tx, orderID); err != nil {
		return Fulfillment{}, err
	}
	fs, err := findFulfillments(tx, orderID, id)
	if err != nil {
		return Fulfillment{}, err
	}
	if len(fs) == 0 {
		return Fulfillment{}, ErrFulfillmentNotFound
	}
	return fs[0], nil
}

// UpdateTracking replaces the tracking of fulfillment id of store t's
// order orderID; emits "fulfillments/update".
//
// Errors: NotFound, Invalid (bad tracking).
func (s *Service) UpdateTracking(ctx context.Context, t *tenant.Tenant, orderID, id int64, tr Tracking, notify bool, actor string) (Fulfillment, error) {
	f := errs.Fields{}
	tr.validate(f)
	if err := f.Err(); err != nil {
		return Fulfillment{}, err
	}
	return s.changeFulfillment(ctx, t, orderID, id, actor, func(fl *Fulfillment) (string, error) {
		fl.TrackingCompany, fl.TrackingNumbers, fl.TrackingURLs, fl.NotifyCustomer = tr.Company, tr.Numbers, tr.URLs, notify
		return "", nil
	})
}

// CancelFulfillment cancels fulfillment id of store t's order orderID: its
// lines can be fulfilled again. Emits "fulfillments/update".
//
// Errors: NotFound, Invalid (already cancelled).
func (s *Service) CancelFulfillment(ctx context.Context, t *tenant.Tenant, orderID, id int64, actor string) (Fulfillment, error) {
	return s.changeFulfillment(ctx, t, orderID, id, actor, func(fl *Fulfillment) (string, error) {
		if fl.Status == "cancelled" {
			return "", invalid("base", "the fulfillment is already cancelled")
		}
		fl.Status = "cancelled"
		return "fulfillment_cancelled", nil
	})
}

// changeFulfillment applies change to a fulfillment under its order's lock;
// change returns a timeline verb when the order's state changes with it.
func (s *Service) changeFulfillment(ctx context.Context, t *tenant.Tenant, orderID, id int64, actor string, change func(*Fulfillment) (string, error)) (Fulfillment, error) {
	var out Fulfillment
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		o, err := lockOrder(tx, orderID)
		if err != nil {
			return err
		}
		if out, err = fulfillmentIn(tx, orderID, id); err != nil {
			return err
		}
		verb, err := change(&out)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		out.UpdatedAt = now
		if err := updateFulfillment(tx, out); err != nil {
			return err
		}
		if verb != "" {
			for _, l := range out.Lines {
				if err := addFulfilled(tx, l.LineItemID, -l.Quantity); err != nil {
					return err
				}
			}
			if o, err = OrderIn(tx, orderID); err != nil {
				return err
			}
			o.FulfillmentStatus, o.UpdatedAt = orderFulfillmentStatus(o.Lines), now
			if err := setOrderState(tx, o); err != nil {
				return err
			}
			if err := recordChange(tx, o.ID, verb, fmt.Sprintf("Fulfillment %s was cancelled", out.Name), actor, now, TopicUpdated); err != nil {
				return err
			}
		}
		_, err = tenant.Emit(tx, TopicFulfillmentUpdate, toFulfillmentJSON(out, o, money.MustCurrency(o.Currency)))
		return err
	})
	return out, err
}

type fulfillmentJSON struct {
	ID                int64          `json:"id"`
	AdminGraphqlAPIID string         `json:"admin_graphql_api_id"`
	OrderID           int64          `json:"order_id"`
	Name              string         `json:"name"`
	Status            string         `json:"status"`
	Service           string         `json:"service"`
	ShipmentStatus    *string        `json:"shipment_status"`
	LocationID        *int64         `json:"location_id"`
	TrackingCompany   *string        `json:"tracking_company"`
	TrackingNumber    *string        `json:"tracking_number"`
	TrackingNumbers   []string       `json:"tracking_numbers"`
	TrackingURL       *string        `json:"tracking_url"`
	TrackingURLs      []string       `json:"tracking_urls"`
	NotifyCustomer    bool           `json:"notify_customer"`
	LineItems         []lineItemJSON `json:"line_items"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
}

func toFulfillmentJSON(f Fulfillment, o Order, cur money.Currency) fulfillmentJSON {
	out := fulfillmentJSON{ID: f.ID, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Fulfillment/%d", f.ID), OrderID: f.OrderID,
		Name: f.Name, Status: f.Status, Service: "manual", TrackingCompany: orNull(f.TrackingCompany),
		TrackingNumbers: append([]string{}, f.TrackingNumbers...), TrackingURLs: append([]string{}, f.TrackingURLs...),
		NotifyCustomer: f.NotifyCustomer, LineItems: []lineItemJSON{}, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
	if len(f.TrackingNumbers) > 0 {
		out.TrackingNumber = &f.TrackingNumbers[0]
	}
	if len(f.TrackingURLs) > 0 {
		out.TrackingURL = &f.TrackingURLs[0]
	}
	for _, fl := range f.Lines {
		for _, l := range o.Lines {
			if l.ID == fl.LineItemID {
				j := toLineItemJSON(l, cur)
				j.Quantity = fl.Quantity
				out.LineItems = append(out.LineItems, j)
			}
		}
	}
	return out
}

// invalid is an Invalid error about field, its message shown as it is.
func invalid(field, message string) error {
	return &errs.Error{Kind: errs.Invalid, Message: message, Fields: map[string][]string{field: {message}}}
}
