package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// AdminRoutes mounts orders.json and what hangs off an order. Gin needs one
// name per wildcard position, so the segments after /orders/ are "file"
// ("123.json", "count.json", or "123" below it), "sub" (transactions.json,
// fulfillments, …), "item" and "op".
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("orders", rbac.Read), g.Require("orders", rbac.Write)
	fread, fwrite := g.Require("fulfillments", rbac.Read), g.Require("fulfillments", rbac.Write)
	r.GET("/orders.json", read, g.Handle(s.listOrders))
	r.POST("/orders.json", write, g.Handle(s.createOrder))
	r.GET("/orders/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.countOrders(c)
		}
		return s.getOrder(c)
	}))
	r.PUT("/orders/:file", write, g.Handle(s.updateOrder))
	r.DELETE("/orders/:file", write, g.Handle(s.deleteOrder))

	r.GET("/orders/:file/:sub", func(c *gin.Context) {
		switch c.Param("sub") {
		case "transactions.json":
			read(c)
			if !c.IsAborted() {
				g.Handle(s.listTransactions)(c)
			}
		case "refunds.json":
			read(c)
			if !c.IsAborted() {
				g.Handle(s.listRefunds)(c)
			}
		case "fulfillments.json":
			fread(c)
			if !c.IsAborted() {
				g.Handle(s.listFulfillments)(c)
			}
		default:
			apps.Abort(c, nil, ErrOrderNotFound)
		}
	})
	r.POST("/orders/:file/:sub", func(c *gin.Context) {
		h, guard := map[string]func(*gin.Context) error{
			"close.json": s.closeOrder, "open.json": s.openOrder, "cancel.json": s.cancelOrder,
			"transactions.json": s.createTransaction, "refunds.json": s.createRefund, "fulfillments.json": s.createFulfillment,
		}[c.Param("sub")], write
		if c.Param("sub") == "fulfillments.json" {
			guard = fwrite
		}
		if h == nil {
			apps.Abort(c, nil, ErrOrderNotFound)
			return
		}
		guard(c)
		if !c.IsAborted() {
			g.Handle(h)(c)
		}
	})
	r.GET("/orders/:file/:sub/:item", func(c *gin.Context) {
		h, guard := map[string]func(*gin.Context) error{
			"transactions": s.getTransaction, "refunds": s.getRefund, "fulfillments": s.getFulfillment,
		}[c.Param("sub")], read
		if c.Param("sub") == "fulfillments" {
			guard = fread
		}
		if h == nil {
			apps.Abort(c, nil, ErrOrderNotFound)
			return
		}
		guard(c)
		if !c.IsAborted() {
			g.Handle(h)(c)
		}
	})
	r.POST("/orders/:file/:sub/:item", write, g.Handle(func(c *gin.Context) error {
		if c.Param("sub") == "refunds" && c.Param("item") == "calculate.json" {
			return s.calculateRefund(c)
		}
		return ErrOrderNotFound
	}))
	r.POST("/orders/:file/:sub/:item/:op", fwrite, g.Handle(func(c *gin.Context) error {
		if c.Param("sub") != "fulfillments" {
			return ErrFulfillmentNotFound
		}
		switch c.Param("op") {
		case "update_tracking.json":
			return s.updateTracking(c)
		case "cancel.json":
			return s.cancelFulfillment(c)
		}
		return ErrFulfillmentNotFound
	}))
}

// --- helpers ---------------------------------------------------------------------

func store(c *gin.Context) *tenant.Tenant { return apps.PrincipalOf(c).Store }

func actor(c *gin.Context) string { return apps.PrincipalOf(c).Subject() }

// orderID reads the order id of a route: "123.json" on /orders/:file, "123"
// below it.
func orderID(c *gin.Context) (int64, error) {
	f := c.Param("file")
	if c.Param("sub") == "" && !strings.HasSuffix(f, ".json") {
		return 0, ErrOrderNotFound
	}
	if c.Param("sub") != "" && strings.HasSuffix(f, ".json") {
		return 0, ErrOrderNotFound
	}
	return apps.FileID(f, ErrOrderNotFound)
}

// itemID reads the id of a resource below an order ("456.json", or "456"
// when an op follows).
func itemID(c *gin.Context, notFound error) (int64, error) {
	it := c.Param("item")
	if c.Param("op") == "" && !strings.HasSuffix(it, ".json") {
		return 0, notFound
	}
	if c.Param("op") != "" && strings.HasSuffix(it, ".json") {
		return 0, notFound
	}
	return apps.FileID(it, notFound)
}

func (s *Service) currency(ctx context.Context, t *tenant.Tenant) (money.Currency, error) {
	var cur money.Currency
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		cur, err = shop.CurrencyIn(tx)
		return err
	})
	return cur, err
}

// amount parses an optional decimal field into f's problems.
func amount(f errs.Fields, cur money.Currency, field string, d *apps.Decimal) money.Amount {
	if d == nil || *d == "" {
		return 0
	}
	a, err := cur.Parse(string(*d))
	if err != nil {
		f.Add(field, "%s", errs.MessageOf(err))
	}
	return a
}

// writeOrders writes os under key ("order" for one, "orders" for a list),
// keeping only the fields the fields parameter names.
func (s *Service) writeOrders(c *gin.Context, status int, key string, os []Order) error {
	ds, err := s.Details(c.Request.Context(), store(c), os)
	if err != nil {
		return err
	}
	items := make([]any, len(ds))
	for i, d := range ds {
		items[i] = apps.KeepFields(toOrderJSON(d.Order, d.Fulfillments, d.Refunds, d.Paid), apps.SplitList(c.Query("fields")))
	}
	if key == "order" {
		c.JSON(status, gin.H{key: items[0]})
	} else {
		c.JSON(status, gin.H{key: items})
	}
	return nil
}

// --- orders --------------------------------------------------------------------------

func (s *Service) getOrder(c *gin.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	o, err := s.Order(c.Request.Context(), store(c), id)
	if err != nil {
		return err
	}
	return s.writeOrders(c, http.StatusOK, "order", []Order{o})
}

func (s *Service) listOrders(c *gin.Context) error {
	q, paged, err := parseListQuery(c.Request.URL.Query(), false)
	if err != nil {
		return err
	}
	os, more, err := s.Orders(c.Request.Context(), store(c), q)
	if err != nil {
		return err
	}
	if len(os) > 0 {
		f := q
		f.Limit, f.After, f.Before = 0, 0, 0
		apps.SetLinks(c, f, q.Limit, os[0].ID, os[len(os)-1].ID, q.Before != 0, more, paged)
	}
	return s.writeOrders(c, http.StatusOK, "orders", os)
}

func (s *Service) countOrders(c *gin.Context) error {
	q, _, err := parseListQuery(c.Request.URL.Query(), true)
	if err != nil {
		return err
	}
	n, err := s.CountOrders(c.Request.Context(), store(c), q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

// parseListQuery reads Shopify's order list parameters; paged says whether
// the request continues from a page_info cursor.
//
// Errors: Malformed, naming the parameter.
func parseListQuery(v url.Values, counting bool) (Query, bool, error) {
	f := errs.Fields{}
	if v.Get("page_info") != "" && !counting {
		var q Query
		limit := apps.ParseLimit(f, v)
		q.After, q.Before = apps.PageInfo(f, v, &q)
		q.Limit = limit
		if err := f.Err(); err != nil {
			return Query{}, false, apps.Malformed(err)
		}
		return q, true, nil
	}
	q := Query{Limit: apps.DefaultLimit, Status: v.Get("status"), FinancialStatus: v.Get("financial_status"),
		FulfillmentStatus: v.Get("fulfillment_status")}
	if !counting {
		q.Limit = apps.ParseLimit(f, v)
	}
	switch q.Status {
	case "", "open", "closed", "cancelled", "any":
	default:
		f.Add("status", "must be open, closed, cancelled or any")
	}
	switch q.FinancialStatus {
	case "", "any", "authorized", "pending", "paid", "partially_paid", "refunded", "voided", "partially_refunded":
	case "unpaid":
		q.FinancialStatus = FinancialPending
	default:
		f.Add("financial_status", "must be authorized, pending, paid, partially_paid, refunded, voided, partially_refunded, unpaid or any")
	}
	switch q.FulfillmentStatus {
	case "", "any", "shipped", "partial", "unshipped", "unfulfilled":
	default:
		f.Add("fulfillment_status", "must be shipped, partial, unshipped, unfulfilled or any")
	}
	if sid := v.Get("since_id"); sid != "" {
		n, err := strconv.ParseInt(sid, 10, 64)
		if err != nil || n < 0 {
			f.Add("since_id", "must be an order id")
		}
		q.After = n
	}
	for _, sid := range apps.ParseList(f, v, "ids") {
		n, err := strconv.ParseInt(sid, 10, 64)
		if err != nil || n <= 0 {
			f.Add("ids", "must be comma-separated order ids")
			break
		}
		q.IDs = append(q.IDs, n)
	}
	for _, tp := range []struct {
		name string
		dst  **time.Time
	}{{"created_at_min", &q.CreatedMin}, {"created_at_max", &q.CreatedMax}, {"updated_at_min", &q.UpdatedMin}, {"updated_at_max", &q.UpdatedMax}} {
		if sv := v.Get(tp.name); sv != "" {
			tm, err := time.Parse(time.RFC3339, sv)
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

type addressRequest struct {
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Company      string `json:"company"`
	Address1     string `json:"address1"`
	Address2     string `json:"address2"`
	City         string `json:"city"`
	Province     string `json:"province"`
	ProvinceCode string `json:"province_code"`
	Country      string `json:"country"`
	CountryCode  string `json:"country_code"`
	Zip          string `json:"zip"`
	Phone        string `json:"phone"`
}

func (r *addressRequest) toAddress(f errs.Fields, field string) *Address {
	if r == nil {
		return nil
	}
	a := Address(*r)
	for _, s := range []string{a.FirstName, a.LastName, a.Company, a.Address1, a.Address2, a.City, a.Province, a.ProvinceCode,
		a.Country, a.CountryCode, a.Zip, a.Phone} {
		if len(s) > maxText {
			f.Add(field, "fields must be at most %d characters", maxText)
			break
		}
	}
	return &a
}

type taxLineRequest struct {
	Title string        `json:"title"`
	Rate  apps.Decimal  `json:"rate"`
	Price *apps.Decimal `json:"price"`
}

func toTaxLines(f errs.Fields, cur money.Currency, field string, rs []taxLineRequest) []TaxLine {
	var out []TaxLine
	for i, r := range rs {
		out = append(out, TaxLine{Title: r.Title, Rate: string(r.Rate), Price: amount(f, cur, fmt.Sprintf("%s[%d].price", field, i), r.Price)})
	}
	return out
}

type lineRequest struct {
	VariantID        *int64           `json:"variant_id"`
	Title            string           `json:"title"`
	VariantTitle     string           `json:"variant_title"`
	SKU              string           `json:"sku"`
	Vendor           string           `json:"vendor"`
	Quantity         int64            `json:"quantity"`
	Price            *apps.Decimal    `json:"price"`
	Grams            int64            `json:"grams"`
	RequiresShipping *bool            `json:"requires_shipping"`
	Taxable          *bool            `json:"taxable"`
	TotalDiscount    *apps.Decimal    `json:"total_discount"`
	TaxLines         []taxLineRequest `json:"tax_lines"`
}

type orderRequest struct {
	Email                 string                `json:"email"`
	Phone                 string                `json:"phone"`
	Note                  string                `json:"note"`
	Tags                  apps.TagList          `json:"tags"`
	Currency              string                `json:"currency"`
	TaxesIncluded         bool                  `json:"taxes_included"`
	FinancialStatus       string                `json:"financial_status"`
	InventoryBehaviour    string                `json:"inventory_behaviour"`
	BuyerAcceptsMarketing bool                  `json:"buyer_accepts_marketing"`
	SourceName            string                `json:"source_name"`
	Customer              *struct{ ID *int64 }  `json:"customer"`
	LineItems             []lineRequest         `json:"line_items"`
	ShippingAddress       *addressRequest       `json:"shipping_address"`
	BillingAddress        *addressRequest       `json:"billing_address"`
	TaxLines              []taxLineRequest      `json:"tax_lines"`
	ShippingLines         []shippingLineRequest `json:"shipping_lines"`
	DiscountCodes         []struct {
		Code   string        `json:"code"`
		Amount *apps.Decimal `json:"amount"`
		Type   string        `json:"type"`
	} `json:"discount_codes"`
}

type shippingLineRequest struct {
	Title    string           `json:"title"`
	Code     string           `json:"code"`
	Source   string           `json:"source"`
	Price    *apps.Decimal    `json:"price"`
	TaxLines []taxLineRequest `json:"tax_lines"`
}

// toNewOrder converts a POST orders.json body, in the store's currency cur.
func (r orderRequest) toNewOrder(cur money.Currency, actor string) (NewOrder, CreateOptions, error) {
	f := errs.Fields{}
	n := NewOrder{Email: r.Email, Phone: r.Phone, Note: r.Note, Tags: r.Tags, Currency: r.Currency,
		TaxesIncluded: r.TaxesIncluded, InventoryBehaviour: r.InventoryBehaviour, BuyerAcceptsMarketing: r.BuyerAcceptsMarketing,
		SourceName: r.SourceName, ShippingAddress: r.ShippingAddress.toAddress(f, "shipping_address"),
		BillingAddress: r.BillingAddress.toAddress(f, "billing_address"), TaxLines: toTaxLines(f, cur, "tax_lines", r.TaxLines),
		Actor: actor}
	if n.Currency == "" {
		n.Currency = cur.Code
	}
	if n.SourceName == "" {
		n.SourceName = "api"
	}
	if r.Customer != nil {
		n.CustomerID = r.Customer.ID
	}
	opts := CreateOptions{FinancialStatus: r.FinancialStatus}
	for i, l := range r.LineItems {
		field := fmt.Sprintf("line_items[%d]", i)
		nl := NewLine{VariantID: l.VariantID, Title: l.Title, VariantTitle: l.VariantTitle, SKU: l.SKU, Vendor: l.Vendor,
			Quantity: l.Quantity, Price: amount(f, cur, field+".price", l.Price), Grams: l.Grams, RequiresShipping: true,
			Taxable: true, TotalDiscount: amount(f, cur, field+".total_discount", l.TotalDiscount),
			TaxLines: toTaxLines(f, cur, field+".tax_lines", l.TaxLines)}
		if l.RequiresShipping != nil {
			nl.RequiresShipping = *l.RequiresShipping
		}
		if l.Taxable != nil {
			nl.Taxable = *l.Taxable
		}
		if l.VariantID == nil && (l.Title == "" || l.Price == nil) {
			f.Add(field, "needs a variant_id, or a title and a price for a custom line")
		}
		n.Lines = append(n.Lines, nl)
		opts.PriceGiven = append(opts.PriceGiven, l.Price != nil)
	}
	for i, sl := range r.ShippingLines {
		n.ShippingLines = append(n.ShippingLines, ShippingLine{Title: sl.Title, Code: sl.Code, Source: sl.Source,
			Price:    amount(f, cur, fmt.Sprintf("shipping_lines[%d].price", i), sl.Price),
			TaxLines: toTaxLines(f, cur, fmt.Sprintf("shipping_lines[%d].tax_lines", i), sl.TaxLines)})
	}
	for i, d := range r.DiscountCodes {
		typ := d.Type
		if typ == "" {
			typ = "fixed_amount"
		}
		n.DiscountCodes = append(n.DiscountCodes, DiscountCode{Code: d.Code, Type: typ,
			Amount: amount(f, cur, fmt.Sprintf("discount_codes[%d].amount", i), d.Amount)})
	}
	return n, opts, f.Err()
}

func (s *Service) createOrder(c *gin.Context) error {
	var req orderRequest
	if err := apps.DecodeEnvelope(c, "order", &req); err != nil {
		return err
	}
	cur, err := s.currency(c.Request.Context(), store(c))
	if err != nil {
		return err
	}
	n, opts, err := req.toNewOrder(cur, actor(c))
	if err != nil {
		return err
	}
	o, err := s.CreateOrder(c.Request.Context(), store(c), n, opts)
	var so *inventory.SoldOutError
	if errors.As(err, &so) {
		// Shopify answers an order it cannot stock with 422.
		return &errs.Error{Kind: errs.Invalid, Message: errs.MessageOf(err), Fields: errs.FieldsOf(err), Err: err}
	}
	if err != nil {
		return err
	}
	return s.writeOrders(c, http.StatusCreated, "order", []Order{o})
}

type orderUpdateRequest struct {
	Note            *string         `json:"note"`
	Tags            *apps.TagList   `json:"tags"`
	Email           *string         `json:"email"`
	ShippingAddress *addressRequest `json:"shipping_address"`
}

func (s *Service) updateOrder(c *gin.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	var req orderUpdateRequest
	if err := apps.DecodeEnvelope(c, "order", &req); err != nil {
		return err
	}
	f := errs.Fields{}
	in := OrderUpdate{Note: req.Note, Email: req.Email, ShippingAddress: req.ShippingAddress.toAddress(f, "shipping_address"), Actor: actor(c)}
	if req.Tags != nil {
		tags := []string(*req.Tags)
		in.Tags = &tags
	}
	if err := f.Err(); err != nil {
		return err
	}
	o, err := s.UpdateOrder(c.Request.Context(), store(c), id, in)
	if err != nil {
		return err
	}
	return s.writeOrders(c, http.StatusOK, "order", []Order{o})
}

func (s *Service) deleteOrder(c *gin.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	if err := s.DeleteOrder(c.Request.Context(), store(c), id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

func (s *Service) closeOrder(c *gin.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	o, err := s.CloseOrder(c.Request.Context(), store(c), id, actor(c))
	if err != nil {
		return err
	}
	return s.writeOrders(c, http.StatusOK, "order", []Order{o})
}

func (s *Service) openOrder(c *gin.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	o, err := s.OpenOrder(c.Request.Context(), store(c), id, actor(c))
	if err != nil {
		return err
	}
	return s.writeOrders(c, http.StatusOK, "order", []Order{o})
}

// readBody decodes an optional top-level JSON body (cancel.json takes its
// parameters unwrapped, as Shopify does).
func readBody(c *gin.Context, v any) error {
	b, err := io.ReadAll(io.LimitReader(c.Request.Body, 1<<20))
	if err != nil {
		return errs.E(errs.Malformed, "the body could not be read")
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errs.E(errs.Malformed, "the body must be a JSON object with the documented fields")
	}
	return nil
}

func (s *Service) cancelOrder(c *gin.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	var req struct {
		Reason  string          `json:"reason"`
		Restock bool            `json:"restock"`
		Refund  json.RawMessage `json:"refund"`
		Amount  *apps.Decimal   `json:"amount"`
	}
	if err := readBody(c, &req); err != nil {
		return err
	}
	refund := req.Amount != nil || (len(req.Refund) > 0 && string(req.Refund) != "null" && string(req.Refund) != "false")
	o, err := s.CancelOrder(c.Request.Context(), store(c), id, CancelRequest{Reason: req.Reason, Restock: req.Restock, Refund: refund, Actor: actor(c)})
	if err != nil {
		return err
	}
	return s.writeOrders(c, http.StatusOK, "order", []Order{o})
}

// --- transactions --------------------------------------------------------------------

func (s *Service) listTransactions(c *gin.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	ts, err := s.Transactions(c.Request.Context(), store(c), id)
	if err != nil {
		return err
	}
	cur, err := s.currency(c.Request.Context(), store(c))
	if err != nil {
		return err
	}
	out := []any{}
	for _, t := range ts {
		out = append(out, apps.KeepFields(toTransactionJSON(t, cur), apps.SplitList(c.Query("fields"))))
	}
	c.JSON(http.StatusOK, gin.H{"transactions": out})
	return nil
}

func (s *Service) getTransaction(c *gin.Context) error {
	oid, err := orderID(c)
	if err != nil {
		return err
	}
	if c.Param("item") == "count.json" {
		ts, err := s.Transactions(c.Request.Context(), store(c), oid)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"count": len(ts)})
		return nil
	}
	id, err := itemID(c, ErrTransactionNotFound)
	if err != nil {
		return err
	}
	t, err := s.Transaction(c.Request.Context(), store(c), oid, id)
	if err != nil {
		return err
	}
	cur, err := s.currency(c.Request.Context(), store(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"transaction": apps.KeepFields(toTransactionJSON(t, cur), apps.SplitList(c.Query("fields")))})
	return nil
}

func (s *Service) createTransaction(c *gin.Context) error {
	oid, err := orderID(c)
	if err != nil {
		return err
	}
	var req struct {
		Kind     string        `json:"kind"`
		Status   string        `json:"status"`
		Amount   *apps.Decimal `json:"amount"`
		Gateway  string        `json:"gateway"`
		ParentID *int64        `json:"parent_id"`
	}
	if err := apps.DecodeEnvelope(c, "transaction", &req); err != nil {
		return err
	}
	cur, err := s.currency(c.Request.Context(), store(c))
	if err != nil {
		return err
	}
	f := errs.Fields{}
	in := NewTransaction{OrderID: oid, Kind: req.Kind, Status: req.Status, Amount: amount(f, cur, "amount", req.Amount),
		Gateway: req.Gateway, ParentID: req.ParentID, Actor: actor(c)}
	switch in.Kind {
	case KindCapture, KindSale:
	default:
		f.Add("kind", "must be capture or sale (a manual payment); refunds are made through refunds.json")
	}
	if in.Gateway == "" {
		in.Gateway = "manual"
	} else if in.Gateway != "manual" {
		f.Add("gateway", "must be manual: other gateways record their own transactions")
	}
	if in.Status == "" {
		in.Status = StatusSuccess
	}
	if err := f.Err(); err != nil {
		return err
	}
	t, err := s.CreateTransaction(c.Request.Context(), store(c), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"transaction": toTransactionJSON(t, cur)})
	return nil
}

// --- fulfillments ----------------------------------------------------------------------

type fulfillmentRequest struct {
	LineItems []struct {
		ID       int64 `json:"id"`
		Quantity int64 `json:"quantity"`
	} `json:"line_items"`
	TrackingNumber  string   `json:"tracking_number"`
	TrackingNumbers []string `json:"tracking_numbers"`
	TrackingCompany string   `json:"tracking_company"`
	TrackingURL     string   `json:"tracking_url"`
	TrackingURLs    []string `json:"tracking_urls"`
	NotifyCustomer  bool     `json:"notify_customer"`
	TrackingInfo    *struct {
		Number  string `json:"number"`
		URL     string `json:"url"`
		Company string `json:"company"`
	} `json:"tracking_info"`
}

func (r fulfillmentRequest) tracking() Tracking {
	tr := Tracking{Company: r.TrackingCompany, Numbers: r.TrackingNumbers, URLs: r.TrackingURLs}
	if r.TrackingNumber != "" && len(tr.Numbers) == 0 {
		tr.Numbers = []string{r.TrackingNumber}
	}
	if r.TrackingURL != "" && len(tr.URLs) == 0 {
		tr.URLs = []string{r.TrackingURL}
	}
	if ti := r.TrackingInfo; ti != nil {
		tr.Company = ti.Company
		tr.Numbers, tr.URLs = nil, nil
		if ti.Number != "" {
			tr.Numbers = []string{ti.Number}
		}
		if ti.URL != "" {
			tr.URLs = []string{ti.URL}
		}
	}
	return tr
}

func (s *Service) writeFulfillments(c *gin.Context, status int, key string, orderID int64, fs []Fulfillment) error {
	o, err := s.Order(c.Request.Context(), store(c), orderID)
	if err != nil {
		return err
	}
	cur := money.MustCurrency(o.Currency)
	out := []any{}
	for _, f := range fs {
		out = append(out, apps.KeepFields(toFulfillmentJSON(f, o, cur), apps.SplitList(c.Query("fields"))))
	}
	if key == "fulfillment" {
		c.JSON(status, gin.H{key: out[0]})
	} else {
		c.JSON(status, gin.H{key: out})
	}
	return nil
}

func (s *Service) listFulfillments(c *gin.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	fs, err := s.Fulfillments(c.Request.Context(), store(c), id)
	if err != nil {
		return err
	}
	return s.writeFulfillments(c, http.StatusOK, "fulfillments", id, fs)
}

func (s *Service) getFulfillment(c *gin.Context) error {
	oid, err := orderID(c)
	if err != nil {
		return err
	}
	if c.Param("item") == "count.json" {
		fs, err := s.Fulfillments(c.Request.Context(), store(c), oid)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"count": len(fs)})
		return nil
	}
	id, err := itemID(c, ErrFulfillmentNotFound)
	if err != nil {
		return err
	}
	f, err := s.Fulfillment(c.Request.Context(), store(c), oid, id)
	if err != nil {
		return err
	}
	return s.writeFulfillments(c, http.StatusOK, "fulfillment", oid, []Fulfillment{f})
}

func (s *Service) createFulfillment(c *gin.Context) error {
	oid, err := orderID(c)
	if err != nil {
		return err
	}
	var req fulfillmentRequest
	if err := apps.DecodeEnvelope(c, "fulfillment", &req); err != nil {
		return err
	}
	in := NewFulfillment{OrderID: oid, Tracking: req.tracking(), NotifyCustomer: req.NotifyCustomer, Actor: actor(c)}
	for _, l := range req.LineItems {
		in.Lines = append(in.Lines, FulfillmentLine{LineItemID: l.ID, Quantity: l.Quantity})
	}
	f, err := s.CreateFulfillment(c.Request.Context(), store(c), in)
	if err != nil {
		return err
	}
	return s.writeFulfillments(c, http.StatusCreated, "fulfillment", oid, []Fulfillment{f})
}

func (s *Service) updateTracking(c *gin.Context) error {
	oid, err := orderID(c)
	if err != nil {
		return err
	}
	id, err := itemID(c, ErrFulfillmentNotFound)
	if err != nil {
		return err
	}
	var req fulfillmentRequest
	if err := apps.DecodeEnvelope(c, "fulfillment", &req); err != nil {
		return err
	}
	f, err := s.UpdateTracking(c.Request.Context(), store(c), oid, id, req.tracking(), req.NotifyCustomer, actor(c))
	if err != nil {
		return err
	}
	return s.writeFulfillments(c, http.StatusOK, "fulfillment", oid, []Fulfillment{f})
}

func (s *Service) cancelFulfillment(c *gin.Context) error {
	oid, err := orderID(c)
	if err != nil {
		return err
	}
	id, err := itemID(c, ErrFulfillmentNotFound)
	if err != nil {
		return err
	}
	f, err := s.CancelFulfillment(c.Request.Context(), store(c), oid, id, actor(c))
	if err != nil {
		return err
	}
	return s.writeFulfillments(c, http.StatusOK, "fulfillment", oid, []Fulfillment{f})
}

// --- refunds ----------------------------------------------------------------------------

type refundRequest struct {
	Note     string `json:"note"`
	Restock  *bool  `json:"restock"`
	Shipping *struct {
		FullRefund bool          `json:"full_refund"`
		Amount     *apps.Decimal `json:"amount"`
	} `json:"shipping"`
	RefundLineItems []struct {
		LineItemID  int64  `json:"line_item_id"`
		Quantity    int64  `json:"quantity"`
		RestockType string `json:"restock_type"`
	} `json:"refund_line_items"`
	Transactions []struct {
		ParentID *int64        `json:"parent_id"`
		Amount   *apps.Decimal `json:"amount"`
		Kind     string        `json:"kind"`
		Gateway  string        `json:"gateway"`
	} `json:"transactions"`
}

func (r refundRequest) toNewRefund(orderID int64, cur money.Currency, actor string) (NewRefund, error) {
	f := errs.Fields{}
	in := NewRefund{OrderID: orderID, Note: r.Note, Actor: actor}
	if len(r.Note) > maxNote {
		f.Add("note", "is too long (maximum is %d characters)", maxNote)
	}
	if r.Shipping != nil {
		in.FullShipping = r.Shipping.FullRefund
		in.ShippingAmount = amount(f, cur, "shipping.amount", r.Shipping.Amount)
	}
	for _, l := range r.RefundLineItems {
		rt := l.RestockType
		if rt == "" && r.Restock != nil && *r.Restock {
			rt = RestockReturn // the older restock flag
		}
		in.Lines = append(in.Lines, RefundLineInput{LineItemID: l.LineItemID, Quantity: l.Quantity, RestockType: rt})
	}
	for i, t := range r.Transactions {
		if t.Kind != "" && t.Kind != KindRefund && t.Kind != "suggested_refund" {
			f.Add(fmt.Sprintf("transactions[%d].kind", i), "must be refund")
		}
		in.Transactions = append(in.Transactions, RefundTransactionInput{ParentID: t.ParentID, Gateway: t.Gateway,
			Amount: amount(f, cur, fmt.Sprintf("transactions[%d].amount", i), t.Amount)})
	}
	return in, f.Err()
}

func (s *Service) refundInput(c *gin.Context) (NewRefund, Order, error) {
	oid, err := orderID(c)
	if err != nil {
		return NewRefund{}, Order{}, err
	}
	o, err := s.Order(c.Request.Context(), store(c), oid)
	if err != nil {
		return NewRefund{}, Order{}, err
	}
	var req refundRequest
	if err := apps.DecodeEnvelope(c, "refund", &req); err != nil {
		return NewRefund{}, Order{}, err
	}
	in, err := req.toNewRefund(oid, money.MustCurrency(o.Currency), actor(c))
	return in, o, err
}

func (s *Service) createRefund(c *gin.Context) error {
	in, _, err := s.refundInput(c)
	if err != nil {
		return err
	}
	r, err := s.CreateRefund(c.Request.Context(), store(c), in)
	if err != nil {
		return err
	}
	o, err := s.Order(c.Request.Context(), store(c), in.OrderID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"refund": toRefundJSON(r, o, money.MustCurrency(o.Currency))})
	return nil
}

func (s *Service) calculateRefund(c *gin.Context) error {
	in, o, err := s.refundInput(c)
	if err != nil {
		return err
	}
	calc, err := s.CalculateRefund(c.Request.Context(), store(c), in)
	if err != nil {
		return err
	}
	cur := money.MustCurrency(o.Currency)
	txs := []gin.H{}
	for _, t := range calc.Suggested {
		txs = append(txs, gin.H{"order_id": o.ID, "kind": t.Kind, "gateway": t.Gateway, "parent_id": t.ParentID,
			"amount": cur.Format(t.Amount), "maximum_refundable": cur.Format(calc.MaxRefunding), "currency": cur.Code})
	}
	c.JSON(http.StatusOK, gin.H{"refund": gin.H{
		"shipping":          gin.H{"amount": cur.Format(calc.Shipping), "tax": cur.Format(0), "maximum_refundable": cur.Format(max(o.TotalShipping, 0))},
		"refund_line_items": toRefundLinesJSON(calc.Lines, o, cur),
		"transactions":      txs,
		"currency":          cur.Code,
	}})
	return nil
}

func (s *Service) listRefunds(c *gin.Context) error {
	oid, err := orderID(c)
	if err != nil {
		return err
	}
	rs, err := s.Refunds(c.Request.Context(), store(c), oid)
	if err != nil {
		return err
	}
	o, err := s.Order(c.Request.Context(), store(c), oid)
	if err != nil {
		return err
	}
	out := []refundJSON{}
	for _, r := range rs {
		out = append(out, toRefundJSON(r, o, money.MustCurrency(o.Currency)))
	}
	c.JSON(http.StatusOK, gin.H{"refunds": out})
	return nil
}

func (s *Service) getRefund(c *gin.Context) error {
	oid, err := orderID(c)
	if err != nil {
		return err
	}
	id, err := itemID(c, ErrRefundNotFound)
	if err != nil {
		return err
	}
	r, err := s.Refund(c.Request.Context(), store(c), oid, id)
	if err != nil {
		return err
	}
	o, err := s.Order(c.Request.Context(), store(c), oid)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"refund": toRefundJSON(r, o, money.MustCurrency(o.Currency))})
	return nil
}
