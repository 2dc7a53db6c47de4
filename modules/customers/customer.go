package customers

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
)

// Customer account states, as Shopify has them. A customer starts disabled;
// the other states belong to customer accounts (invitations, sign-up), which
// the Admin API does not set.
const (
	StateDisabled = "disabled"
	StateInvited  = "invited"
	StateEnabled  = "enabled"
	StateDeclined = "declined"
)

// Limits.
const (
	MaxTags     = 250
	maxText     = 255
	maxPassword = 1024
)

// Customer is a person who buys, or may buy, from a store.
type Customer struct {
	ID               int64
	Email            string
	FirstName        string
	LastName         string
	Phone            string
	Note             string
	Tags             []string
	AcceptsMarketing bool
	State            string
	VerifiedEmail    bool // the customer followed a link sent to Email (verification.go)
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Addresses        []Address // in id order

	// What the customer has bought, read from the orders placed with their
	// id whenever the customer is loaded (orders.CustomerTotalsIn):
	// every order, cancelled ones included; what the orders not cancelled
	// total less their refunds, in the store's currency; the newest order,
	// or 0 and "" for none.
	OrdersCount   int64
	TotalSpent    money.Amount
	LastOrderID   int64
	LastOrderName string
}

// DefaultAddress is the customer's default address, or nil when the customer
// has none.
func (c Customer) DefaultAddress() *Address {
	for i := range c.Addresses {
		if c.Addresses[i].Default {
			return &c.Addresses[i]
		}
	}
	return nil
}

// Address is one of a customer's addresses. A customer with addresses has
// exactly one default.
type Address struct {
	ID           int64
	CustomerID   int64
	FirstName    string
	LastName     string
	Company      string
	Address1     string
	Address2     string
	City         string
	Province     string
	ProvinceCode string
	Country      string
	CountryCode  string
	Zip          string
	Phone        string
	Default      bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Name is the address's first and last name, as Shopify shows it.
func (a Address) Name() string {
	return strings.TrimSpace(a.FirstName + " " + a.LastName)
}

// AddressInput is an address to create, or a change to one; nil fields are
// left as they are, or empty on creation. Default true makes it the
// customer's default; false is ignored, since a customer with addresses
// always has a default (make another address the default instead).
type AddressInput struct {
	FirstName    *string
	LastName     *string
	Company      *string
	Address1     *string
	Address2     *string
	City         *string
	Province     *string
	ProvinceCode *string
	Country      *string
	CountryCode  *string
	Zip          *string
	Phone        *string
	Default      *bool
}

// CustomerInput is a customer to create, or a change to one; nil fields are
// left as they are, or take their defaults on creation. Addresses are taken
// only on creation (the default is the first marked default, else the
// first); later they change through the address resources.
type CustomerInput struct {
	Email            *string
	FirstName        *string
	LastName         *string
	Phone            *string
	Note             *string
	Tags             *[]string
	AcceptsMarketing *bool
	Addresses        *[]AddressInput

	// Only on creation, as Shopify's POST customers.json takes them: a
	// Password (with an optional PasswordConfirmation that must match)
	// makes an enabled account that can log in, and sends the account
	// verification email; SendEmailInvite instead sends the invitation
	// whose link lets the customer choose a password. Either needs an email.
	Password             *string
	PasswordConfirmation *string
	SendEmailInvite      bool
}

// checkLength trims *s and records a problem when it is too long.
func checkLength(f errs.Fields, field string, s *string) bool {
	if s == nil {
		return true
	}
	*s = strings.TrimSpace(*s)
	if utf8.RuneCountInString(*s) > maxText {
		f.Add(field, "is too long (maximum is %d characters)", maxText)
		return false
	}
	return true
}

// validate checks the fields an input sets, trimming them and normalizing
// the email. creating says whether addresses may be given.
func (in *CustomerInput) validate(creating bool) error {
	f := errs.Fields{}
	checkLength(f, "first_name", in.FirstName)
	checkLength(f, "last_name", in.LastName)
	checkLength(f, "phone", in.Phone)
	checkLength(f, "note", in.Note)
	if in.Email != nil && checkLength(f, "email", in.Email) && *in.Email != "" {
		e, err := auth.NormalizeEmail(*in.Email)
		if err != nil {
			f.Add("email", "is invalid")
		} else {
			*in.Email = e
		}
	}
	if in.Tags != nil {
		if len(*in.Tags) > MaxTags {
			f.Add("tags", "must be at most %d", MaxTags)
		}
		for _, t := range *in.Tags {
			if utf8.RuneCountInString(t) > maxText {
				f.Add("tags", "%q is too long (maximum is %d characters)", t, maxText)
			}
		}
	}
	if in.Addresses != nil {
		if !creating {
			f.Add("addresses", "cannot be changed with the customer; use the customer's addresses resource")
		}
		for i := range *in.Addresses {
			af := errs.Fields{}
			(*in.Addresses)[i].check(af)
			for field, msgs := range af {
				for _, m := range msgs {
					f.Add("addresses", "address %d: %s %s", i+1, field, m)
				}
			}
		}
	}
	in.checkAccount(f, creating)
	return f.Err()
}

// checkAccount checks the account fields of an input: given only on
// creation, a password of MinPasswordLength to maxPassword characters that
// its confirmation (when given) repeats, not together with an invitation
// (an account with a password is already enabled), and an email to log in
// with or to send the invitation to.
func (in *CustomerInput) checkAccount(f errs.Fields, creating bool) {
	if in.Password == nil && in.PasswordConfirmation == nil && !in.SendEmailInvite {
		return
	}
	if !creating {
		if in.Password != nil || in.PasswordConfirmation != nil {
			f.Add("password", "can only be set when the customer is created; the customer can reset it from the store's login page")
		}
		if in.SendEmailInvite {
			f.Add("send_email_invite", "is only taken when the customer is created; use POST customers/{id}/send_invite.json")
		}
		return
	}
	switch {
	case in.Password == nil && in.PasswordConfirmation == nil:
	case in.Password == nil:
		f.Add("password", "can't be blank when password_confirmation is given")
	case utf8.RuneCountInString(*in.Password) < MinPasswordLength:
		f.Add("password", "is too short (minimum is %d characters)", MinPasswordLength)
	case len(*in.Password) > maxPassword:
		f.Add("password", "is too long (maximum is %d bytes)", maxPassword)
	case in.PasswordConfirmation != nil && *in.PasswordConfirmation != *in.Password:
		f.Add("password_confirmation", "doesn't match Password")
	}
	if in.Password != nil && in.SendEmailInvite {
		f.Add("send_email_invite", "cannot be combined with a password: the account is already enabled; leave out one of the two")
	}
	if in.Email == nil || *in.Email == "" {
		if in.Password != nil {
			f.Add("email", "can't be blank for a customer with a password (it is what they log in with)")
		} else {
			f.Add("email", "can't be blank when send_email_invite is true (the invitation is sent to it)")
		}
	}
}

// validate checks the fields an address input sets, trimming them and
// upper-casing the country code.
func (in *AddressInput) validate() error {
	f := errs.Fields{}
	in.check(f)
	return f.Err()
}

func (in *AddressInput) check(f errs.Fields) {
	for _, t := range []struct {
		field string
		s     *string
	}{
		{"first_name", in.FirstName}, {"last_name", in.LastName}, {"company", in.Company},
		{"address1", in.Address1}, {"address2", in.Address2}, {"city", in.City}, {"province", in.Province},
		{"province_code", in.ProvinceCode}, {"country", in.Country}, {"zip", in.Zip}, {"phone", in.Phone},
	} {
		checkLength(f, t.field, t.s)
	}
	if in.CountryCode != nil {
		cc := strings.ToUpper(strings.TrimSpace(*in.CountryCode))
		*in.CountryCode = cc
		if cc != "" && (len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z') {
			f.Add("country_code", "must be two letters (ISO 3166-1 alpha-2)")
		}
	}
}

// checkCustomer checks a customer as it would be stored: Shopify refuses a
// customer nobody could recognize.
func checkCustomer(c Customer) error {
	if c.Email == "" && c.Phone == "" && c.FirstName == "" && c.LastName == "" {
		return errNoIdentity
	}
	return nil
}

var errNoIdentity = &errs.Error{Kind: errs.Invalid, Message: "Customer must have a name, phone number or email address",
	Fields: map[string][]string{"base": {"Customer must have a name, phone number or email address"}}}

func applyCustomer(c *Customer, in CustomerInput) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.Email, in.Email)
	set(&c.FirstName, in.FirstName)
	set(&c.LastName, in.LastName)
	set(&c.Phone, in.Phone)
	set(&c.Note, in.Note)
	if in.Tags != nil {
		c.Tags = *in.Tags
	}
	if in.AcceptsMarketing != nil {
		c.AcceptsMarketing = *in.AcceptsMarketing
	}
}

func applyAddress(a *Address, in AddressInput) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&a.FirstName, in.FirstName)
	set(&a.LastName, in.LastName)
	set(&a.Company, in.Company)
	set(&a.Address1, in.Address1)
	set(&a.Address2, in.Address2)
	set(&a.City, in.City)
	set(&a.Province, in.Province)
	set(&a.ProvinceCode, in.ProvinceCode)
	set(&a.Country, in.Country)
	set(&a.CountryCode, in.CountryCode)
	set(&a.Zip, in.Zip)
	set(&a.Phone, in.Phone)
}

// defaultIndex is which of a new customer's addresses is the default: the
// first marked default, else the first.
func defaultIndex(ins []AddressInput) int {
	for i, in := range ins {
		if in.Default != nil && *in.Default {
			return i
		}
	}
	return 0
}
