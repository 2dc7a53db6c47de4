// Package customers is who a store sells to: customers, with an email unique
// in the store (ignoring case), and their addresses, one of them the default.
// Its Admin API resources follow Shopify's REST Admin API.
package customers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// Errors the service returns.
var (
	// ErrCustomerNotFound is returned for a customer that is not in the store.
	ErrCustomerNotFound = errs.E(errs.NotFound, "customer not found")
	// ErrAddressNotFound is returned for an address that is not the customer's.
	ErrAddressNotFound = errs.E(errs.NotFound, "address not found")
	// ErrDeleteDefaultAddress refuses to delete a default address, as Shopify
	// does: make another address the default first.
	ErrDeleteDefaultAddress = &errs.Error{Kind: errs.Invalid, Message: "Cannot delete the customer’s default address",
		Fields: map[string][]string{"base": {"Cannot delete the customer’s default address"}}}
)

// Service reads and changes a store's customers.
type Service struct {
	db *tenant.DB
}

// NewService returns the customers service.
func NewService(db *tenant.DB) *Service { return &Service{db: db} }

// Currency is store t's currency, in which customers' totals are shown.
func (s *Service) Currency(ctx context.Context, t *tenant.Tenant) (money.Currency, error) {
	var c money.Currency
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = shop.CurrencyIn(tx)
		return err
	})
	return c, err
}

// CreateCustomer adds a customer to store t, with the addresses in gives.
// With a password the customer is an enabled account that can log in at
// once, and is sent the account verification email; with SendEmailInvite
// the customer is invited (as SendInvite does). Those emails are outbox
// events of the same transaction: no customer, no email, and the reverse.
//
// Errors: Invalid (with per-field messages; an email that another customer
// has, ignoring case; a customer with no name, phone or email; a password
// too short, or that its confirmation does not repeat; a password or an
// invitation without an email, or both at once).
func (s *Service) CreateCustomer(ctx context.Context, t *tenant.Tenant, in CustomerInput) (Customer, error) {
	if err := in.validate(true); err != nil {
		return Customer{}, err
	}
	var hash string
	if in.Password != nil {
		// Hashed before the transaction: argon2id takes long enough that it
		// should not hold a connection.
		var err error
		if hash, err = auth.HashPassword(*in.Password); err != nil {
			return Customer{}, fmt.Errorf("hash customer password: %w", err)
		}
	}
	var c Customer
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		c = Customer{State: StateDisabled, CreatedAt: now, UpdatedAt: now}
		if hash != "" {
			c.State = StateEnabled
		}
		applyCustomer(&c, in)
		if err := checkCustomer(c); err != nil {
			return err
		}
		if err := insertCustomer(tx, &c); err != nil {
			return err
		}
		if in.Addresses != nil {
			def := defaultIndex(*in.Addresses)
			for i, ai := range *in.Addresses {
				a := Address{CustomerID: c.ID, Default: i == def, CreatedAt: now, UpdatedAt: now}
				applyAddress(&a, ai)
				if err := insertAddress(tx, &a); err != nil {
					return err
				}
			}
		}
		switch {
		case hash != "":
			if err := setPassword(tx, c.ID, hash); err != nil {
				return err
			}
			return emitVerification(tx, c)
		case in.SendEmailInvite:
			return emitInvite(tx, c, "", "")
		}
		return nil
	})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(ctx, t, c.ID)
}

// emitInvite invites customer c, inside tx: its state becomes invited, and
// the invitation email, carrying a one-use link to choose a password, is
// emitted with subject and message ("" for the template's own subject and
// no message).
func emitInvite(tx *gorm.DB, c Customer, subject, message string) error {
	raw, sum := newLinkToken()
	expires := time.Now().Add(InviteTTL).UTC()
	if err := setActivationToken(tx, c.ID, sum, expires); err != nil {
		return err
	}
	_, err := tenant.Emit(tx, TopicInvite, AccountEmail{CustomerID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
		Path: fmt.Sprintf("/account/activate/%d/%s", c.ID, raw), ExpiresAt: expires.Format(time.RFC3339),
		Subject: subject, CustomMessage: message})
	if err != nil {
		return fmt.Errorf("emit invitation: %w", err)
	}
	return nil
}

// Customer returns store t's customer id with its addresses.
//
// Errors: NotFound (ErrCustomerNotFound).
func (s *Service) Customer(ctx context.Context, t *tenant.Tenant, id int64) (Customer, error) {
	var c Customer
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = findCustomer(tx, id)
		return err
	})
	return c, err
}

// Term is one condition of a customer search: Value contained in Field
// (email, first_name, last_name or phone), ignoring case; a tag equal to
// Value for Field "tag"; or, with no Field, contained in any of the four.
type Term struct {
	Field string `json:"f,omitempty"`
	Value string `json:"v"`
}

// Query selects customers. Zero fields select everything; results are in id
// order, Limit at a time after After (or before Before, for a previous page).
type Query struct {
	Limit      int
	After      int64 // since_id, or a next-page cursor
	Before     int64 // a previous-page cursor
	IDs        []int64
	CreatedMin *time.Time
	CreatedMax *time.Time
	UpdatedMin *time.Time
	UpdatedMax *time.Time
	Terms      []Term // all must hold
}

// Customers lists store t's customers that q selects, and whether there are
// more past the page in q's direction.
func (s *Service) Customers(ctx context.Context, t *tenant.Tenant, q Query) ([]Customer, bool, error) {
	var cs []Customer
	more := false
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		page := q
		page.Limit = q.Limit + 1
		var err error
		if cs, err = findCustomers(tx, page); err != nil {
			return err
		}
		cs, more = pg.TrimPage(cs, q.Limit, q.Before != 0)
		return nil
	})
	return cs, more, err
}

// CountCustomers counts store t's customers that q selects (its paging
// fields are ignored).
func (s *Service) CountCustomers(ctx context.Context, t *tenant.Tenant, q Query) (int64, error) {
	var n int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		where, args := q.where()
		return tx.Raw(`SELECT count(*) FROM customers c WHERE `+where, args...).Scan(&n).Error
	})
	if err != nil {
		return 0, fmt.Errorf("count customers: %w", err)
	}
	return n, nil
}

// UpdateCustomer changes store t's customer id as in says.
//
// Errors: NotFound, Invalid (as CreateCustomer; addresses given).
func (s *Service) UpdateCustomer(ctx context.Context, t *tenant.Tenant, id int64, in CustomerInput) (Customer, error) {
	if err := in.validate(false); err != nil {
		return Customer{}, err
	}
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		c, err := findCustomer(tx, id)
		if err != nil {
			return err
		}
		applyCustomer(&c, in)
		c.UpdatedAt = time.Now().UTC()
		if err := checkCustomer(c); err != nil {
			return err
		}
		return updateCustomer(tx, c)
	})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(ctx, t, id)
}

// DeleteCustomer removes store t's customer id and its addresses.
//
// Errors: NotFound.
func (s *Service) DeleteCustomer(ctx context.Context, t *tenant.Tenant, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		return deleteCustomer(tx, id)
	})
}

// Addresses lists the addresses of store t's customer, in id order.
//
// Errors: NotFound (ErrCustomerNotFound).
func (s *Service) Addresses(ctx context.Context, t *tenant.Tenant, customerID int64) ([]Address, error) {
	var as []Address
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		c, err := findCustomer(tx, customerID)
		as = c.Addresses
		return err
	})
	return as, err
}

// Address returns address id of store t's customer.
//
// Errors: NotFound (ErrAddressNotFound, also when there is no such customer).
func (s *Service) Address(ctx context.Context, t *tenant.Tenant, customerID, id int64) (Address, error) {
	var a Address
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		a, err = findAddress(tx, customerID, id)
		return err
	})
	return a, err
}

// CreateAddress adds an address to store t's customer. A customer's first
// address becomes its default, as does one created with Default true.
//
// Errors: NotFound (ErrCustomerNotFound), Invalid (with per-field messages).
func (s *Service) CreateAddress(ctx context.Context, t *tenant.Tenant, customerID int64, in AddressInput) (Address, error) {
	if err := in.validate(); err != nil {
		return Address{}, err
	}
	var a Address
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		// The lock on the customer serializes its address writes, so two
		// first addresses cannot both become the default.
		if err := lockCustomer(tx, customerID, now); err != nil {
			return err
		}
		hasDefault, err := hasDefaultAddress(tx, customerID)
		if err != nil {
			return err
		}
		a = Address{CustomerID: customerID, CreatedAt: now, UpdatedAt: now,
			Default: !hasDefault || (in.Default != nil && *in.Default)}
		applyAddress(&a, in)
		if a.Default && hasDefault {
			if err := clearDefaultAddress(tx, customerID); err != nil {
				return err
			}
		}
		return insertAddress(tx, &a)
	})
	if err != nil {
		return Address{}, err
	}
	return s.Address(ctx, t, customerID, a.ID)
}

// UpdateAddress changes address id of store t's customer as in says.
//
// Errors: NotFound (ErrCustomerNotFound, ErrAddressNotFound), Invalid (with
// per-field messages).
func (s *Service) UpdateAddress(ctx context.Context, t *tenant.Tenant, customerID, id int64, in AddressInput) (Address, error) {
	if err := in.validate(); err != nil {
		return Address{}, err
	}
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		if err := lockCustomer(tx, customerID, now); err != nil {
			return err
		}
		a, err := findAddress(tx, customerID, id)
		if err != nil {
			return err
		}
		applyAddress(&a, in)
		a.UpdatedAt = now
		if err := updateAddress(tx, a); err != nil {
			return err
		}
		if in.Default != nil && *in.Default && !a.Default {
			return makeDefaultAddress(tx, customerID, id)
		}
		return nil
	})
	if err != nil {
		return Address{}, err
	}
	return s.Address(ctx, t, customerID, id)
}

// SetDefaultAddress makes address id the default of store t's customer.
//
// Errors: NotFound (ErrCustomerNotFound, ErrAddressNotFound).
func (s *Service) SetDefaultAddress(ctx context.Context, t *tenant.Tenant, customerID, id int64) (Address, error) {
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := lockCustomer(tx, customerID, time.Now().UTC()); err != nil {
			return err
		}
		a, err := findAddress(tx, customerID, id)
		if err != nil {
			return err
		}
		if a.Default {
			return nil
		}
		return makeDefaultAddress(tx, customerID, id)
	})
	if err != nil {
		return Address{}, err
	}
	return s.Address(ctx, t, customerID, id)
}

// DeleteAddress removes address id of store t's customer; its default
// address cannot be removed.
//
// Errors: NotFound (ErrCustomerNotFound, ErrAddressNotFound), Invalid
// (ErrDeleteDefaultAddress).
func (s *Service) DeleteAddress(ctx context.Context, t *tenant.Tenant, customerID, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := lockCustomer(tx, customerID, time.Now().UTC()); err != nil {
			return err
		}
		a, err := findAddress(tx, customerID, id)
		if err != nil {
			return err
		}
		if a.Default {
			return ErrDeleteDefaultAddress
		}
		return deleteAddress(tx, customerID, id)
	})
}

// where renders q's filters (not its paging) as SQL over customers c.
func (q Query) where() (string, []any) {
	conds := []string{"true"}
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if len(q.IDs) > 0 {
		add("c.id IN ?", q.IDs)
	}
	for _, c := range []struct {
		op string
		t  *time.Time
		f  string
	}{{">=", q.CreatedMin, "created_at"}, {"<=", q.CreatedMax, "created_at"}, {">=", q.UpdatedMin, "updated_at"}, {"<=", q.UpdatedMax, "updated_at"}} {
		if c.t != nil {
			add("c."+c.f+" "+c.op+" ?", *c.t)
		}
	}
	for _, term := range q.Terms {
		like := "%" + pg.LikeEscape(term.Value) + "%"
		switch term.Field {
		case "email", "first_name", "last_name", "phone": // names from a fixed list, never from input
			add("c."+term.Field+" ILIKE ?", like)
		case "tag":
			add("EXISTS (SELECT 1 FROM unnest(c.tags) tag WHERE lower(tag) = lower(?))", term.Value)
		default:
			add("(c.email ILIKE ? OR c.first_name ILIKE ? OR c.last_name ILIKE ? OR c.phone ILIKE ?)", like, like, like, like)
		}
	}
	return strings.Join(conds, " AND "), args
}

// ParseSearch reads Shopify's customer search syntax: whitespace-separated
// terms, each plain text or field:value (email, first_name, last_name,
// phone, tag), with double quotes around text that holds spaces. Unknown
// fields are searched as plain text, field name and all.
func ParseSearch(query string) []Term {
	var terms []Term
	var b strings.Builder
	quoted := false
	flush := func() {
		s := b.String()
		b.Reset()
		if strings.TrimSpace(s) == "" {
			return
		}
		if field, value, ok := strings.Cut(s, ":"); ok && value != "" {
			switch field = strings.ToLower(field); field {
			case "email", "first_name", "last_name", "phone", "tag":
				terms = append(terms, Term{Field: field, Value: value})
				return
			}
		}
		terms = append(terms, Term{Value: s})
	}
	for _, r := range query {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ' ' || r == '\t' || r == '\n' || r == '\r'):
			flush()
		default:
			b.WriteRune(r)
		}
	}
	flush()
	return terms
}
