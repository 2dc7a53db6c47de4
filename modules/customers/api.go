package customers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
)

// Page sizes, as Shopify has them.
const ()

// AdminRoutes mounts the customer and customer address resources. Gin needs
// one name for the wildcard after /customers/, so it is "file" throughout:
// "123.json", "count.json" and "search.json" on the customer routes, "123"
// on the address routes below it.
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("customers", rbac.Read), g.Require("customers", rbac.Write)
	r.GET("/customers.json", read, g.Handle(s.listCustomers))
	r.POST("/customers.json", write, g.Handle(s.createCustomer))
	r.GET("/customers/:file", read, g.Handle(func(c *gin.Context) error {
		switch c.Param("file") {
		case "count.json":
			return s.countCustomers(c)
		case "search.json":
			return s.searchCustomers(c)
		}
		return s.getCustomer(c)
	}))
	r.PUT("/customers/:file", write, g.Handle(s.updateCustomer))
	r.DELETE("/customers/:file", write, g.Handle(s.deleteCustomer))

	r.GET("/customers/:file/addresses.json", read, g.Handle(s.listAddresses))
	r.POST("/customers/:file/addresses.json", write, g.Handle(s.createAddress))
	r.GET("/customers/:file/addresses/:address", read, g.Handle(s.getAddress))
	r.PUT("/customers/:file/addresses/:address", write, g.Handle(s.updateAddress))
	r.DELETE("/customers/:file/addresses/:address", write, g.Handle(s.deleteAddress))
	r.PUT("/customers/:file/addresses/:address/default.json", write, g.Handle(s.setDefaultAddress))
	r.POST("/customers/:file/send_invite.json", write, g.Handle(s.sendInvite))
}

// --- JSON shapes -------------------------------------------------------------

type addressJSON struct {
	ID           int64   `json:"id"`
	CustomerID   int64   `json:"customer_id"`
	FirstName    *string `json:"first_name"`
	LastName     *string `json:"last_name"`
	Company      *string `json:"company"`
	Address1     *string `json:"address1"`
	Address2     *string `json:"address2"`
	City         *string `json:"city"`
	Province     *string `json:"province"`
	Country      *string `json:"country"`
	Zip          *string `json:"zip"`
	Phone        *string `json:"phone"`
	Name         string  `json:"name"`
	ProvinceCode *string `json:"province_code"`
	CountryCode  *string `json:"country_code"`
	CountryName  *string `json:"country_name"`
	Default      bool    `json:"default"`
}

type customerJSON struct {
	ID                  int64         `json:"id"`
	Email               *string       `json:"email"`
	CreatedAt           time.Time     `json:"created_at"`
	UpdatedAt           time.Time     `json:"updated_at"`
	FirstName           *string       `json:"first_name"`
	LastName            *string       `json:"last_name"`
	OrdersCount         int64         `json:"orders_count"`
	State               string        `json:"state"`
	TotalSpent          string        `json:"total_spent"`
	LastOrderID         *int64        `json:"last_order_id"`
	Note                *string       `json:"note"`
	VerifiedEmail       bool          `json:"verified_email"`
	MultipassIdentifier *string       `json:"multipass_identifier"`
	TaxExempt           bool          `json:"tax_exempt"`
	Tags                string        `json:"tags"`
	LastOrderName       *string       `json:"last_order_name"`
	Currency            string        `json:"currency"`
	Phone               *string       `json:"phone"`
	Addresses           []addressJSON `json:"addresses"`
	AcceptsMarketing    bool          `json:"accepts_marketing"`
	TaxExemptions       []string      `json:"tax_exemptions"`
	AdminGraphqlAPIID   string        `json:"admin_graphql_api_id"`
	DefaultAddress      *addressJSON  `json:"default_address"`
}

// orNull is s, or null when it is empty, as Shopify writes unset text.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toAddressJSON(a Address) addressJSON {
	return addressJSON{
		ID: a.ID, CustomerID: a.CustomerID, FirstName: orNull(a.FirstName), LastName: orNull(a.LastName),
		Company: orNull(a.Company), Address1: orNull(a.Address1), Address2: orNull(a.Address2), City: orNull(a.City),
		Province: orNull(a.Province), Country: orNull(a.Country), Zip: orNull(a.Zip), Phone: orNull(a.Phone),
		Name: a.Name(), ProvinceCode: orNull(a.ProvinceCode), CountryCode: orNull(a.CountryCode),
		CountryName: orNull(a.Country), Default: a.Default,
	}
}

func toCustomerJSON(c Customer, cur money.Currency) customerJSON {
	out := customerJSON{
		ID: c.ID, Email: orNull(c.Email), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		FirstName: orNull(c.FirstName), LastName: orNull(c.LastName), State: c.State, OrdersCount: c.OrdersCount,
		TotalSpent: cur.Format(c.TotalSpent), LastOrderName: orNull(c.LastOrderName), VerifiedEmail: c.VerifiedEmail,
		Note: orNull(c.Note), Tags: strings.Join(c.Tags, ", "), Currency: cur.Code, Phone: orNull(c.Phone),
		Addresses: []addressJSON{}, AcceptsMarketing: c.AcceptsMarketing, TaxExemptions: []string{},
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Customer/%d", c.ID),
	}
	if c.LastOrderID != 0 {
		id := c.LastOrderID
		out.LastOrderID = &id
	}
	for _, a := range c.Addresses {
		out.Addresses = append(out.Addresses, toAddressJSON(a))
	}
	if d := c.DefaultAddress(); d != nil {
		dj := toAddressJSON(*d)
		out.DefaultAddress = &dj
	}
	return out
}

// text is a text field of a request: absent, or set; null sets it empty, so
// that clients may clear a phone or email the way Shopify lets them.
type text struct {
	set   bool
	value string
}

func (t *text) UnmarshalJSON(b []byte) error {
	t.set = true
	if string(b) == "null" {
		t.value = ""
		return nil
	}
	return json.Unmarshal(b, &t.value)
}

func (t text) ptr() *string {
	if !t.set {
		return nil
	}
	v := t.value
	return &v
}

type addressRequest struct {
	FirstName    text  `json:"first_name"`
	LastName     text  `json:"last_name"`
	Company      text  `json:"company"`
	Address1     text  `json:"address1"`
	Address2     text  `json:"address2"`
	City         text  `json:"city"`
	Province     text  `json:"province"`
	ProvinceCode text  `json:"province_code"`
	Country      text  `json:"country"`
	CountryCode  text  `json:"country_code"`
	Zip          text  `json:"zip"`
	Phone        text  `json:"phone"`
	Default      *bool `json:"default"`
}

func (r addressRequest) toAddressInput() AddressInput {
	return AddressInput{FirstName: r.FirstName.ptr(), LastName: r.LastName.ptr(), Company: r.Company.ptr(),
		Address1: r.Address1.ptr(), Address2: r.Address2.ptr(), City: r.City.ptr(), Province: r.Province.ptr(),
		ProvinceCode: r.ProvinceCode.ptr(), Country: r.Country.ptr(), CountryCode: r.CountryCode.ptr(),
		Zip: r.Zip.ptr(), Phone: r.Phone.ptr(), Default: r.Default}
}

type customerRequest struct {
	Email            text              `json:"email"`
	FirstName        text              `json:"first_name"`
	LastName         text              `json:"last_name"`
	Phone            text              `json:"phone"`
	Note             text              `json:"note"`
	Tags             *apps.TagList     `json:"tags"`
	AcceptsMarketing *bool             `json:"accepts_marketing"`
	Addresses        *[]addressRequest `json:"addresses"`

	Password             *string `json:"password"`
	PasswordConfirmation *string `json:"password_confirmation"`
	SendEmailInvite      bool    `json:"send_email_invite"`
}

func (r customerRequest) toCustomerInput() CustomerInput {
	in := CustomerInput{Email: r.Email.ptr(), FirstName: r.FirstName.ptr(), LastName: r.LastName.ptr(),
		Phone: r.Phone.ptr(), Note: r.Note.ptr(), AcceptsMarketing: r.AcceptsMarketing,
		Password: r.Password, PasswordConfirmation: r.PasswordConfirmation, SendEmailInvite: r.SendEmailInvite}
	if r.Tags != nil {
		tags := []string(*r.Tags)
		in.Tags = &tags
	}
	if r.Addresses != nil {
		as := make([]AddressInput, len(*r.Addresses))
		for i, a := range *r.Addresses {
			as[i] = a.toAddressInput()
		}
		in.Addresses = &as
	}
	return in
}

// --- customer handlers -------------------------------------------------------

// customerID reads the customer id of a customer route ("123.json").
func customerID(c *gin.Context) (int64, error) {
	if !strings.HasSuffix(c.Param("file"), ".json") {
		return 0, ErrCustomerNotFound
	}
	return apps.FileID(c.Param("file"), ErrCustomerNotFound)
}

func (s *Service) getCustomer(c *gin.Context) error {
	id, err := customerID(c)
	if err != nil {
		return err
	}
	cu, err := s.Customer(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	return s.writeCustomers(c, http.StatusOK, "customer", []Customer{cu})
}

func (s *Service) createCustomer(c *gin.Context) error {
	var req customerRequest
	if err := apps.DecodeEnvelope(c, "customer", &req); err != nil {
		return err
	}
	cu, err := s.CreateCustomer(c.Request.Context(), apps.PrincipalOf(c).Store, req.toCustomerInput())
	if err != nil {
		return err
	}
	return s.writeCustomers(c, http.StatusCreated, "customer", []Customer{cu})
}

func (s *Service) updateCustomer(c *gin.Context) error {
	id, err := customerID(c)
	if err != nil {
		return err
	}
	var req customerRequest
	if err := apps.DecodeEnvelope(c, "customer", &req); err != nil {
		return err
	}
	cu, err := s.UpdateCustomer(c.Request.Context(), apps.PrincipalOf(c).Store, id, req.toCustomerInput())
	if err != nil {
		return err
	}
	return s.writeCustomers(c, http.StatusOK, "customer", []Customer{cu})
}

func (s *Service) deleteCustomer(c *gin.Context) error {
	id, err := customerID(c)
	if err != nil {
		return err
	}
	if err := s.DeleteCustomer(c.Request.Context(), apps.PrincipalOf(c).Store, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

func (s *Service) countCustomers(c *gin.Context) error {
	q, _, err := parseListQuery(c.Request.URL.Query(), true)
	if err != nil {
		return err
	}
	n, err := s.CountCustomers(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

func (s *Service) listCustomers(c *gin.Context) error {
	q, paged, err := parseListQuery(c.Request.URL.Query(), false)
	if err != nil {
		return err
	}
	return s.writePage(c, q, paged)
}

// searchCustomers is customers.json with Shopify's query parameter in place
// of the filters; its pages link back to search.json.
func (s *Service) searchCustomers(c *gin.Context) error {
	q, paged, err := parseSearchQuery(c.Request.URL.Query())
	if err != nil {
		return err
	}
	return s.writePage(c, q, paged)
}

// writePage writes the page of customers q selects, with Link headers.
func (s *Service) writePage(c *gin.Context, q Query, paged bool) error {
	cs, more, err := s.Customers(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		f := q
		f.Limit, f.After, f.Before = 0, 0, 0
		apps.SetLinks(c, f, q.Limit, cs[0].ID, cs[len(cs)-1].ID, q.Before != 0, more, paged)
	}
	return s.writeCustomers(c, http.StatusOK, "customers", cs)
}

// writeCustomers writes customers under key ("customer" for one,
// "customers" for a list), keeping only the fields the fields parameter
// names.
func (s *Service) writeCustomers(c *gin.Context, status int, key string, cs []Customer) error {
	cur, err := s.Currency(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	items := make([]any, len(cs))
	for i, cu := range cs {
		items[i] = apps.KeepFields(toCustomerJSON(cu, cur), apps.SplitList(c.Query("fields")))
	}
	if key == "customer" {
		c.JSON(status, gin.H{key: items[0]})
	} else {
		c.JSON(status, gin.H{key: items})
	}
	return nil
}

// --- address handlers ----------------------------------------------------------

// addressPath reads the customer id ("123") and the address id
// ("456.json", or "456" when withJSON is false) of an address route.
func addressPath(c *gin.Context, withJSON bool) (customerID, addressID int64, err error) {
	customerID, err = strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || customerID <= 0 {
		return 0, 0, ErrCustomerNotFound
	}
	if a := c.Param("address"); withJSON {
		addressID, err = apps.FileID(a, ErrAddressNotFound)
	} else if addressID, err = strconv.ParseInt(a, 10, 64); err != nil || addressID <= 0 {
		err = ErrAddressNotFound
	}
	return customerID, addressID, err
}

func writeAddress(c *gin.Context, status int, a Address) error {
	c.JSON(status, gin.H{"customer_address": apps.KeepFields(toAddressJSON(a), apps.SplitList(c.Query("fields")))})
	return nil
}

func (s *Service) listAddresses(c *gin.Context) error {
	id, err := strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || id <= 0 {
		return ErrCustomerNotFound
	}
	as, err := s.Addresses(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	out := make([]any, len(as))
	for i, a := range as {
		out[i] = apps.KeepFields(toAddressJSON(a), apps.SplitList(c.Query("fields")))
	}
	c.JSON(http.StatusOK, gin.H{"addresses": out})
	return nil
}

func (s *Service) createAddress(c *gin.Context) error {
	id, err := strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || id <= 0 {
		return ErrCustomerNotFound
	}
	var req addressRequest
	if err := apps.DecodeEnvelope(c, "address", &req); err != nil {
		return err
	}
	a, err := s.CreateAddress(c.Request.Context(), apps.PrincipalOf(c).Store, id, req.toAddressInput())
	if err != nil {
		return err
	}
	return writeAddress(c, http.StatusCreated, a)
}

func (s *Service) getAddress(c *gin.Context) error {
	cid, aid, err := addressPath(c, true)
	if err != nil {
		return err
	}
	a, err := s.Address(c.Request.Context(), apps.PrincipalOf(c).Store, cid, aid)
	if err != nil {
		return err
	}
	return writeAddress(c, http.StatusOK, a)
}

func (s *Service) updateAddress(c *gin.Context) error {
	cid, aid, err := addressPath(c, true)
	if err != nil {
		return err
	}
	var req addressRequest
	if err := apps.DecodeEnvelope(c, "address", &req); err != nil {
		return err
	}
	a, err := s.UpdateAddress(c.Request.Context(), apps.PrincipalOf(c).Store, cid, aid, req.toAddressInput())
	if err != nil {
		return err
	}
	return writeAddress(c, http.StatusOK, a)
}

func (s *Service) deleteAddress(c *gin.Context) error {
	cid, aid, err := addressPath(c, true)
	if err != nil {
		return err
	}
	if err := s.DeleteAddress(c.Request.Context(), apps.PrincipalOf(c).Store, cid, aid); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

func (s *Service) setDefaultAddress(c *gin.Context) error {
	cid, aid, err := addressPath(c, false)
	if err != nil {
		return err
	}
	a, err := s.SetDefaultAddress(c.Request.Context(), apps.PrincipalOf(c).Store, cid, aid)
	if err != nil {
		return err
	}
	return writeAddress(c, http.StatusOK, a)
}

// --- list parameters and cursors ------------------------------------------------

// parseListQuery reads Shopify's list parameters; paged says whether the
// request continues from a page_info cursor.
//
// Errors: Malformed, naming the parameter.
func parseListQuery(v url.Values, counting bool) (Query, bool, error) {
	f := errs.Fields{}
	if v.Get("page_info") != "" && !counting {
		q, err := pageInfo(f, v)
		return q, err == nil, err
	}
	q := Query{Limit: apps.DefaultLimit}
	if !counting {
		q.Limit = apps.ParseLimit(f, v)
	}
	if s := v.Get("since_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			f.Add("since_id", "must be a customer id")
		}
		q.After = n
	}
	for _, s := range apps.SplitList(v.Get("ids")) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			f.Add("ids", "must be comma-separated customer ids")
			break
		}
		q.IDs = append(q.IDs, n)
	}
	if len(q.IDs) > apps.MaxLimit {
		f.Add("ids", "may list at most %d ids", apps.MaxLimit)
	}
	for _, tp := range []struct {
		name string
		dst  **time.Time
	}{{"created_at_min", &q.CreatedMin}, {"created_at_max", &q.CreatedMax}, {"updated_at_min", &q.UpdatedMin}, {"updated_at_max", &q.UpdatedMax}} {
		if s := v.Get(tp.name); s != "" {
			tm, err := time.Parse(time.RFC3339, s)
			if err != nil {
				f.Add(tp.name, "must be an ISO 8601 time like 2025-01-31T15:04:05-05:00")
				continue
			}
			*tp.dst = &tm
		}
	}
	if err := f.Err(); err != nil {
		return Query{}, false, apps.Malformed(err)
	}
	return q, false, nil
}

// parseSearchQuery reads search.json's parameters: query, limit, or a
// page_info cursor that carries the query.
//
// Errors: Malformed, naming the parameter.
func parseSearchQuery(v url.Values) (Query, bool, error) {
	f := errs.Fields{}
	if v.Get("page_info") != "" {
		q, err := pageInfo(f, v)
		return q, err == nil, err
	}
	q := Query{Limit: apps.ParseLimit(f, v), Terms: ParseSearch(v.Get("query"))}
	if len(v.Get("query")) > 1000 {
		f.Add("query", "is too long (maximum is 1000 characters)")
	}
	if err := f.Err(); err != nil {
		return Query{}, false, apps.Malformed(err)
	}
	return q, false, nil
}

// pageInfo reads a page_info cursor and the limit that may come with it;
// the first request's filters (or search terms) carry over.
func pageInfo(f errs.Fields, v url.Values) (Query, error) {
	var q Query
	limit := apps.ParseLimit(f, v)
	q.After, q.Before = apps.PageInfo(f, v, &q)
	q.Limit = limit
	if err := f.Err(); err != nil {
		return Query{}, apps.Malformed(err)
	}
	return q, nil
}
