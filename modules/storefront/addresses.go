package storefront

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/themes"
)

// The customer's address book, as Shopify's: /account/addresses lists the
// logged-in customer's addresses with a form for each and one for a new
// address (the customers/addresses template); the forms post to
// /account/addresses (add) and /account/addresses/{id} (change, with
// _method=put or none; delete with _method=delete). Making an address the
// default is a change with address[default]=1. Every write goes through
// the customers service with the customer id from the session cookie, so
// another customer's address id is not found.

// addressFields are the posted address[…] fields, as Shopify's forms name
// them.
var addressFields = []string{"first_name", "last_name", "company", "address1", "address2", "city", "province",
	"province_code", "country", "country_code", "zip", "phone"}

// addresses is /account/addresses; form is the outcome of a post to show
// on its form.
func (h *Handler) addresses(form *themes.FormResult) func(*gin.Context, *view) error {
	return func(c *gin.Context, v *view) error {
		if cu, _ := viewCustomer(v); cu == nil {
			return redirectToLogin(c)
		}
		noStore(c) // one customer's page: no shared cache may keep it
		v.template = "customers/addresses"
		v.vars["page_title"] = "Your addresses – " + v.shop.Name
		v.vars["request"].(map[string]any)["page_type"] = "customers/addresses"
		v.opts.Form = form
		v.opts.CSRFToken = h.csrfToken(c.Request, v.store)
		if form != nil {
			v.status = http.StatusUnprocessableEntity
		}
		return nil
	}
}

// addressWrite adds, changes or deletes one of the logged-in customer's
// addresses, then goes back to the address book; refused input shows the
// book again with the form's errors and values.
func (h *Handler) addressWrite(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	customerID := h.customerFromCookie(c.Request, t)
	if customerID == 0 {
		c.Redirect(http.StatusSeeOther, "/account/login")
		return
	}
	var id int64
	if p := c.Param("id"); p != "" {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n <= 0 {
			h.NotFound(c)
			return
		}
		id = n
	}
	in, values := addressFromForm(c)
	svc := customers.NewService(h.db)
	ctx := c.Request.Context()
	var err error
	switch method := postedMethod(c); {
	case id == 0 && (method == "" || method == "post"):
		if in.Address1 == nil || strings.TrimSpace(*in.Address1) == "" {
			err = errAddressBlank
			break
		}
		_, err = svc.CreateAddress(ctx, t, customerID, in)
	case id != 0 && (method == "" || method == "put" || method == "patch"):
		if in.Address1 != nil && strings.TrimSpace(*in.Address1) == "" {
			err = errAddressBlank
			break
		}
		_, err = svc.UpdateAddress(ctx, t, customerID, id, in)
	case id != 0 && method == "delete":
		err = svc.DeleteAddress(ctx, t, customerID, id)
	default:
		h.NotFound(c)
		return
	}
	switch {
	case errs.Is(err, errs.NotFound):
		h.NotFound(c) // not this customer's address: the same as none
	case errs.Is(err, errs.Invalid):
		problems := map[string]string{}
		for field, msgs := range errs.FieldsOf(err) {
			problems[field] = strings.Join(msgs, "; ")
		}
		if len(problems) == 0 {
			problems["form"] = errs.MessageOf(err)
		}
		formID := "new"
		if id != 0 {
			formID = strconv.FormatInt(id, 10)
		}
		h.page(h.addresses(&themes.FormResult{Type: "customer_address", ID: formID, Errors: problems, Values: values}))(c)
	case err != nil:
		h.fail(c, err)
	default:
		c.Redirect(http.StatusSeeOther, "/account/addresses")
	}
}

var errAddressBlank = &errs.Error{Kind: errs.Invalid, Message: "address can't be blank",
	Fields: map[string][]string{"address1": {"can't be blank"}}}

// addressFromForm reads the posted address[…] fields: a field left out of
// the form is left as it is; address[default] set to 1 makes the address
// the default.
func addressFromForm(c *gin.Context) (customers.AddressInput, map[string]string) {
	var in customers.AddressInput
	values := map[string]string{}
	targets := map[string]**string{"first_name": &in.FirstName, "last_name": &in.LastName, "company": &in.Company,
		"address1": &in.Address1, "address2": &in.Address2, "city": &in.City, "province": &in.Province,
		"province_code": &in.ProvinceCode, "country": &in.Country, "country_code": &in.CountryCode, "zip": &in.Zip, "phone": &in.Phone}
	for _, k := range addressFields {
		if v, ok := c.GetPostForm("address[" + k + "]"); ok {
			*targets[k] = &v
			values[k] = v
		}
	}
	switch c.PostForm("address[default]") {
	case "1", "true", "on":
		yes := true
		in.Default = &yes
	}
	return in, values
}

// toAddressObject renders an address for themes: every text is the
// shopper's own, so untrusted.
func toAddressObject(a customers.Address) map[string]any {
	return map[string]any{"id": a.ID, "first_name": untrusted(a.FirstName), "last_name": untrusted(a.LastName),
		"name": untrusted(a.Name()), "company": untrusted(a.Company),
		"address1": untrusted(a.Address1), "address2": untrusted(a.Address2), "city": untrusted(a.City),
		"province": untrusted(a.Province), "province_code": untrusted(a.ProvinceCode), "zip": untrusted(a.Zip),
		"country": untrusted(a.Country), "country_code": untrusted(a.CountryCode), "phone": untrusted(a.Phone),
		"default": a.Default, "url": "/account/addresses/" + strconv.FormatInt(a.ID, 10)}
}

// postedMethod is the form's _method, lower case. A delete button in an
// address form (name="_method" value="delete") comes after the form tag's
// own _method=put, and wins.
func postedMethod(c *gin.Context) string {
	ms := c.PostFormArray("_method")
	for _, m := range ms {
		if strings.EqualFold(m, "delete") {
			return "delete"
		}
	}
	if len(ms) == 0 {
		return ""
	}
	return strings.ToLower(ms[0])
}
