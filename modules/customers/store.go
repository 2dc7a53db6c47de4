package customers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/modules/orders"
)

type customerRow struct {
	ID               int64     `gorm:"column:id"`
	Email            string    `gorm:"column:email"`
	FirstName        string    `gorm:"column:first_name"`
	LastName         string    `gorm:"column:last_name"`
	Phone            string    `gorm:"column:phone"`
	Note             string    `gorm:"column:note"`
	Tags             string    `gorm:"column:tags"` // comma-separated: tags cannot hold commas
	AcceptsMarketing bool      `gorm:"column:accepts_marketing"`
	State            string    `gorm:"column:state"`
	VerifiedEmail    bool      `gorm:"column:verified_email"`
	CreatedAt        time.Time `gorm:"column:created_at"`
	UpdatedAt        time.Time `gorm:"column:updated_at"`
}

const customerColumns = `c.id, c.email, c.first_name, c.last_name, c.phone, c.note,
	array_to_string(c.tags, ',') AS tags, c.accepts_marketing, c.state, c.verified_email, c.created_at, c.updated_at`

func (r customerRow) toCustomer() Customer {
	c := Customer{ID: r.ID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName, Phone: r.Phone, Note: r.Note,
		AcceptsMarketing: r.AcceptsMarketing, State: r.State, VerifiedEmail: r.VerifiedEmail, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Tags != "" {
		c.Tags = strings.Split(r.Tags, ",")
	}
	return c
}

type addressRow struct {
	ID           int64     `gorm:"column:id"`
	CustomerID   int64     `gorm:"column:customer_id"`
	FirstName    string    `gorm:"column:first_name"`
	LastName     string    `gorm:"column:last_name"`
	Company      string    `gorm:"column:company"`
	Address1     string    `gorm:"column:address1"`
	Address2     string    `gorm:"column:address2"`
	City         string    `gorm:"column:city"`
	Province     string    `gorm:"column:province"`
	ProvinceCode string    `gorm:"column:province_code"`
	Country      string    `gorm:"column:country"`
	CountryCode  string    `gorm:"column:country_code"`
	Zip          string    `gorm:"column:zip"`
	Phone        string    `gorm:"column:phone"`
	IsDefault    bool      `gorm:"column:is_default"`
	CreatedAt    time.Time `gorm:"column:created_at"`
	UpdatedAt    time.Time `gorm:"column:updated_at"`
}

const addressColumns = `id, customer_id, first_name, last_name, company, address1, address2, city, province,
	province_code, country, country_code, zip, phone, is_default, created_at, updated_at`

func (r addressRow) toAddress() Address {
	return Address{ID: r.ID, CustomerID: r.CustomerID, FirstName: r.FirstName, LastName: r.LastName, Company: r.Company,
		Address1: r.Address1, Address2: r.Address2, City: r.City, Province: r.Province, ProvinceCode: r.ProvinceCode,
		Country: r.Country, CountryCode: r.CountryCode, Zip: r.Zip, Phone: r.Phone, Default: r.IsDefault,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// findCustomers loads the customers q selects, with their addresses, in two
// queries whatever the page size.
func findCustomers(tx *gorm.DB, q Query) ([]Customer, error) {
	where, args := q.where()
	cond, keyArgs, order := pg.Keyset("c.id", q.After, q.Before)
	where += cond
	args = append(append(args, keyArgs...), q.Limit)
	var rows []customerRow
	err := tx.Raw(`SELECT `+customerColumns+` FROM customers c WHERE `+where+` ORDER BY `+order+` LIMIT ?`, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find customers: %w", err)
	}
	if q.Before != 0 {
		slices.Reverse(rows) // back into id order
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rows))
	index := make(map[int64]int, len(rows))
	customers := make([]Customer, len(rows))
	for i, r := range rows {
		ids[i], index[r.ID], customers[i] = r.ID, i, r.toCustomer()
	}
	var addrs []addressRow
	if err := tx.Raw(`SELECT `+addressColumns+` FROM customer_addresses WHERE customer_id IN ? ORDER BY customer_id, id`, ids).Scan(&addrs).Error; err != nil {
		return nil, fmt.Errorf("find customer addresses: %w", err)
	}
	for _, r := range addrs {
		c := &customers[index[r.CustomerID]]
		c.Addresses = append(c.Addresses, r.toAddress())
	}
	totals, err := orders.CustomerTotalsIn(tx, ids)
	if err != nil {
		return nil, err
	}
	for id, tot := range totals {
		c := &customers[index[id]]
		c.OrdersCount, c.TotalSpent, c.LastOrderID, c.LastOrderName = tot.Count, tot.Spent, tot.LastOrderID, tot.LastOrderName
	}
	return customers, nil
}

// findCustomer loads customer id with its addresses.
func findCustomer(tx *gorm.DB, id int64) (Customer, error) {
	cs, err := findCustomers(tx, Query{IDs: []int64{id}, Limit: 1})
	if err != nil {
		return Customer{}, err
	}
	if len(cs) == 0 {
		return Customer{}, ErrCustomerNotFound
	}
	return cs[0], nil
}

var errEmailTaken = &errs.Error{Kind: errs.Invalid, Message: "email has already been taken",
	Fields: map[string][]string{"email": {"has already been taken"}}}

// customerWriteError translates the unique violation of an email that
// another customer has.
func customerWriteError(op string, err error) error {
	if pg.Code(err) == pg.UniqueViolation && pg.Constraint(err) == "customers_email_key" {
		return errEmailTaken
	}
	return fmt.Errorf("%s: %w", op, err)
}

// insertCustomer inserts c and sets its id.
func insertCustomer(tx *gorm.DB, c *Customer) error {
	var ids []int64
	err := tx.Raw(`INSERT INTO customers (email, first_name, last_name, phone, note, tags, accepts_marketing, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, string_to_array(?, ','), ?, ?, ?, ?) RETURNING id`,
		c.Email, c.FirstName, c.LastName, c.Phone, c.Note, strings.Join(c.Tags, ","), c.AcceptsMarketing, c.State, c.CreatedAt, c.UpdatedAt).Scan(&ids).Error
	if err != nil {
		return customerWriteError("insert customer", err)
	}
	if len(ids) != 1 {
		return errors.New("insert customer: no id returned")
	}
	c.ID = ids[0]
	return nil
}

func updateCustomer(tx *gorm.DB, c Customer) error {
	err := tx.Exec(`UPDATE customers SET email = ?, first_name = ?, last_name = ?, phone = ?, note = ?,
		tags = string_to_array(?, ','), accepts_marketing = ?, updated_at = ? WHERE id = ?`,
		c.Email, c.FirstName, c.LastName, c.Phone, c.Note, strings.Join(c.Tags, ","), c.AcceptsMarketing, c.UpdatedAt, c.ID).Error
	if err != nil {
		return customerWriteError(fmt.Sprintf("update customer %d", c.ID), err)
	}
	return nil
}

func deleteCustomer(tx *gorm.DB, id int64) error {
	res := tx.Exec(`DELETE FROM customers WHERE id = ?`, id)
	if res.Error != nil {
		return fmt.Errorf("delete customer %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrCustomerNotFound
	}
	return nil
}

// lockCustomer locks customer id for the rest of the transaction, marking
// it changed at now (its addresses are about to change).
func lockCustomer(tx *gorm.DB, id int64, now time.Time) error {
	res := tx.Exec(`UPDATE customers SET updated_at = ? WHERE id = ?`, now, id)
	if res.Error != nil {
		return fmt.Errorf("lock customer %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrCustomerNotFound
	}
	return nil
}

// findAddress loads address id of customer customerID.
func findAddress(tx *gorm.DB, customerID, id int64) (Address, error) {
	var rows []addressRow
	err := tx.Raw(`SELECT `+addressColumns+` FROM customer_addresses WHERE customer_id = ? AND id = ?`, customerID, id).Scan(&rows).Error
	if err != nil {
		return Address{}, fmt.Errorf("find address %d: %w", id, err)
	}
	if len(rows) == 0 {
		return Address{}, ErrAddressNotFound
	}
	return rows[0].toAddress(), nil
}

func hasDefaultAddress(tx *gorm.DB, customerID int64) (bool, error) {
	var has bool
	err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM customer_addresses WHERE customer_id = ? AND is_default)`, customerID).Scan(&has).Error
	if err != nil {
		return false, fmt.Errorf("find default address: %w", err)
	}
	return has, nil
}

// insertAddress inserts a and sets its id.
func insertAddress(tx *gorm.DB, a *Address) error {
	var ids []int64
	err := tx.Raw(`INSERT INTO customer_addresses (customer_id, first_name, last_name, company, address1, address2, city,
		province, province_code, country, country_code, zip, phone, is_default, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.CustomerID, a.FirstName, a.LastName, a.Company, a.Address1, a.Address2, a.City, a.Province, a.ProvinceCode,
		a.Country, a.CountryCode, a.Zip, a.Phone, a.Default, a.CreatedAt, a.UpdatedAt).Scan(&ids).Error
	if err != nil {
		return fmt.Errorf("insert address: %w", err)
	}
	if len(ids) != 1 {
		return errors.New("insert address: no id returned")
	}
	a.ID = ids[0]
	return nil
}

// updateAddress writes a's fields (not whether it is the default).
func updateAddress(tx *gorm.DB, a Address) error {
	err := tx.Exec(`UPDATE customer_addresses SET first_name = ?, last_name = ?, company = ?, address1 = ?, address2 = ?,
		city = ?, province = ?, province_code = ?, country = ?, country_code = ?, zip = ?, phone = ?, updated_at = ?
		WHERE customer_id = ? AND id = ?`,
		a.FirstName, a.LastName, a.Company, a.Address1, a.Address2, a.City, a.Province, a.ProvinceCode,
		a.Country, a.CountryCode, a.Zip, a.Phone, a.UpdatedAt, a.CustomerID, a.ID).Error
	if err != nil {
		return fmt.Errorf("update address %d: %w", a.ID, err)
	}
	return nil
}

func clearDefaultAddress(tx *gorm.DB, customerID int64) error {
	if err := tx.Exec(`UPDATE customer_addresses SET is_default = false WHERE customer_id = ? AND is_default`, customerID).Error; err != nil {
		return fmt.Errorf("clear default address: %w", err)
	}
	return nil
}

// makeDefaultAddress makes address id the customer's only default. The old
// default is cleared first: the unique index that allows one default
// cannot be deferred to the commit.
func makeDefaultAddress(tx *gorm.DB, customerID, id int64) error {
	if err := clearDefaultAddress(tx, customerID); err != nil {
		return err
	}
	if err := tx.Exec(`UPDATE customer_addresses SET is_default = true WHERE customer_id = ? AND id = ?`, customerID, id).Error; err != nil {
		return fmt.Errorf("set default address %d: %w", id, err)
	}
	return nil
}

func deleteAddress(tx *gorm.DB, customerID, id int64) error {
	res := tx.Exec(`DELETE FROM customer_addresses WHERE customer_id = ? AND id = ?`, customerID, id)
	if res.Error != nil {
		return fmt.Errorf("delete address %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrAddressNotFound
	}
	return nil
}

// setPassword gives customer id an account password (an argon2id hash).
func setPassword(tx *gorm.DB, id int64, hash string) error {
	if err := tx.Exec(`UPDATE customers SET password_hash = ? WHERE id = ?`, hash, id).Error; err != nil {
		return fmt.Errorf("set password of customer %d: %w", id, err)
	}
	return nil
}

// setActivationToken marks customer id invited, with the SHA-256 of its
// invitation link's token, valid until expires.
func setActivationToken(tx *gorm.DB, id int64, sum []byte, expires time.Time) error {
	if err := tx.Exec(`UPDATE customers SET state = ?, activation_token_hash = ?, activation_expires_at = ? WHERE id = ?`,
		StateInvited, sum, expires, id).Error; err != nil {
		return fmt.Errorf("store activation token: %w", err)
	}
	return nil
}
