package orders

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
)

// Stored shapes of the jsonb columns: explicit names, so renaming a Go
// field cannot change what is stored.
type addressDoc struct {
	FirstName    string `json:"first_name,omitempty"`
	LastName     string `json:"last_name,omitempty"`
	Company      string `json:"company,omitempty"`
	Address1     string `json:"address1,omitempty"`
	Address2     string `json:"address2,omitempty"`
	City         string `json:"city,omitempty"`
	Province     string `json:"province,omitempty"`
	ProvinceCode string `json:"province_code,omitempty"`
	Country      string `json:"country,omitempty"`
	CountryCode  string `json:"country_code,omitempty"`
	Zip          string `json:"zip,omitempty"`
	Phone        string `json:"phone,omitempty"`
}

type taxLineDoc struct {
	Title string `json:"title"`
	Rate  string `json:"rate"`
	Price int64  `json:"price"`
}

type shippingLineDoc struct {
	Title    string       `json:"title"`
	Code     string       `json:"code"`
	Source   string       `json:"source"`
	Price    int64        `json:"price"`
	TaxLines []taxLineDoc `json:"tax_lines"`
}

type discountCodeDoc struct {
	Code   string `json:"code"`
	Amount int64  `json:"amount"`
	Type   string `json:"type"`
}

func toAddressDoc(a *Address) any {
	if a == nil {
		return nil
	}
	d := addressDoc(*a)
	return d
}

func toTaxLineDocs(ts []TaxLine) []taxLineDoc {
	out := make([]taxLineDoc, len(ts))
	for i, t := range ts {
		out[i] = taxLineDoc{Title: t.Title, Rate: t.Rate, Price: int64(t.Price)}
	}
	return out
}

func fromTaxLineDocs(ds []taxLineDoc) []TaxLine {
	out := make([]TaxLine, len(ds))
	for i, d := range ds {
		out[i] = TaxLine{Title: d.Title, Rate: d.Rate, Price: money.Amount(d.Price)}
	}
	return out
}

// jsonText encodes v for a jsonb parameter (null stays SQL NULL).
func jsonText(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

type orderRow struct {
	ID                    int64      `gorm:"column:id"`
	Number                int64      `gorm:"column:number"`
	Token                 string     `gorm:"column:token"`
	CheckoutToken         string     `gorm:"column:checkout_token"`
	Email                 string     `gorm:"column:email"`
	Phone                 string     `gorm:"column:phone"`
	CustomerID            *int64     `gorm:"column:customer_id"`
	Currency              string     `gorm:"column:currency"`
	TaxesIncluded         bool       `gorm:"column:taxes_included"`
	ShippingAddress       *string    `gorm:"column:shipping_address"`
	BillingAddress        *string    `gorm:"column:billing_address"`
	ShippingLines         string     `gorm:"column:shipping_lines"`
	TaxLines              string     `gorm:"column:tax_lines"`
	DiscountCodes         string     `gorm:"column:discount_codes"`
	SubtotalPrice         int64      `gorm:"column:subtotal_price"`
	TotalDiscounts        int64      `gorm:"column:total_discounts"`
	TotalShipping         int64      `gorm:"column:total_shipping"`
	TotalTax              int64      `gorm:"column:total_tax"`
	TotalPrice            int64      `gorm:"column:total_price"`
	FinancialStatus       string     `gorm:"column:financial_status"`
	FulfillmentStatus     *string    `gorm:"column:fulfillment_status"`
	Gateway               string     `gorm:"column:gateway"`
	PaymentMethod         string     `gorm:"column:payment_method"`
	Note                  string     `gorm:"column:note"`
	Tags                  string     `gorm:"column:tags"`
	SourceName            string     `gorm:"column:source_name"`
	InventoryBehaviour    string     `gorm:"column:inventory_behaviour"`
	BuyerAcceptsMarketing bool       `gorm:"column:buyer_accepts_marketing"`
	CancelledAt           *time.Time `gorm:"column:cancelled_at"`
	CancelReason          *string    `gorm:"column:cancel_reason"`
	ClosedAt              *time.Time `gorm:"column:closed_at"`
	ProcessedAt           time.Time  `gorm:"column:processed_at"`
	CreatedAt             time.Time  `gorm:"column:created_at"`
	UpdatedAt             time.Time  `gorm:"column:updated_at"`
}

const orderColumns = `o.id, o.number, o.token, o.checkout_token, o.email, o.phone, o.customer_id, o.currency, o.taxes_included,
	o.shipping_address::text AS shipping_address, o.billing_address::text AS billing_address, o.shipping_lines::text AS shipping_lines,
	o.tax_lines::text AS tax_lines, o.discount_codes::text AS discount_codes, o.subtotal_price, o.total_discounts, o.total_shipping,
	o.total_tax, o.total_price, o.financial_status, o.fulfillment_status, o.gateway, o.payment_method, o.note,
	array_to_string(o.tags, ',') AS tags, o.source_name, o.inventory_behaviour, o.buyer_accepts_marketing, o.cancelled_at,
	o.cancel_reason, o.closed_at, o.processed_at, o.created_at, o.updated_at`

func (r orderRow) toOrder() (Order, error) {
	o := Order{ID: r.ID, Number: r.Number, Name: fmt.Sprintf("#%d", r.Number), Token: r.Token, CheckoutToken: r.CheckoutToken,
		Email: r.Email, Phone: r.Phone, CustomerID: r.CustomerID, Currency: r.Currency, TaxesIncluded: r.TaxesIncluded,
		SubtotalPrice: money.Amount(r.SubtotalPrice), TotalDiscounts: money.Amount(r.TotalDiscounts),
		TotalShipping: money.Amount(r.TotalShipping), TotalTax: money.Amount(r.TotalTax), TotalPrice: money.Amount(r.TotalPrice),
		FinancialStatus: r.FinancialStatus, FulfillmentStatus: r.FulfillmentStatus, Gateway: r.Gateway,
		PaymentMethod: r.PaymentMethod, Note: r.Note, SourceName: r.SourceName, InventoryBehaviour: r.InventoryBehaviour,
		BuyerAcceptsMarketing: r.BuyerAcceptsMarketing, CancelledAt: r.CancelledAt, ClosedAt: r.ClosedAt,
		ProcessedAt: r.ProcessedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.CancelReason != nil {
		o.CancelReason = *r.CancelReason
	}
	if r.Tags != "" {
		o.Tags = strings.Split(r.Tags, ",")
	}
	for _, a := range []struct {
		src *string
		dst **Address
	}{{r.ShippingAddress, &o.ShippingAddress}, {r.BillingAddress, &o.BillingAddress}} {
		if a.src == nil {
			continue
		}
		var d addressDoc
		if err := json.Unmarshal([]byte(*a.src), &d); err != nil {
			return Order{}, fmt.Errorf("decode order %d address: %w", r.ID, err)
		}
		addr := Address(d)
		*a.dst = &addr
	}
	var sls []shippingLineDoc
	var tls []taxLineDoc
	var dcs []discountCodeDoc
	if err := errors.Join(json.Unmarshal([]byte(r.ShippingLines), &sls), json.Unmarshal([]byte(r.TaxLines), &tls),
		json.Unmarshal([]byte(r.DiscountCodes), &dcs)); err != nil {
		return Order{}, fmt.Errorf("decode order %d lines: %w", r.ID, err)
	}
	for _, s := range sls {
		o.ShippingLines = append(o.ShippingLines, ShippingLine{Title: s.Title, Code: s.Code, Source: s.Source,
			Price: money.Amount(s.Price), TaxLines: fromTaxLineDocs(s.TaxLines)})
	}
	o.TaxLines = fromTaxLineDocs(tls)
	for _, d := range dcs {
		o.DiscountCodes = append(o.DiscountCodes, DiscountCode{Code: d.Code, Amount: money.Amount(d.Amount), Type: d.Type})
	}
	return o, nil
}

type lineRow struct {
	ID                int64  `gorm:"column:id"`
	OrderID           int64  `gorm:"column:order_id"`
	VariantID         *int64 `gorm:"column:variant_id"`
	ProductID         *int64 `gorm:"column:product_id"`
	Title             string `gorm:"column:title"`
	VariantTitle      string `gorm:"column:variant_title"`
	SKU               string `gorm:"column:sku"`
	Vendor            string `gorm:"column:vendor"`
	Quantity          int64  `gorm:"column:quantity"`
	Price             int64  `gorm:"column:price"`
	Grams             int64  `gorm:"column:grams"`
	RequiresShipping  bool   `gorm:"column:requires_shipping"`
	Taxable           bool   `gorm:"column:taxable"`
	TotalDiscount     int64  `gorm:"column:total_discount"`
	TaxLines          string `gorm:"column:tax_lines"`
	Tracked           bool   `gorm:"column:tracked"`
	SellWhenOut       bool   `gorm:"column:sell_when_out"`
	StockTaken        bool   `gorm:"column:stock_taken"`
	FulfilledQuantity int64  `gorm:"column:fulfilled_quantity"`
	RefundedQuantity  int64  `gorm:"column:refunded_quantity"`
	RestockedQuantity int64  `gorm:"column:restocked_quantity"`
}

const lineColumns = `l.id, l.order_id, l.variant_id, l.product_id, l.title, l.variant_title, l.sku, l.vendor, l.quantity, l.price,
	l.grams, l.requires_shipping, l.taxable, l.total_discount, l.tax_lines::text AS tax_lines, l.tracked, l.sell_when_out,
	l.stock_taken, l.fulfilled_quantity, l.refunded_quantity, l.restocked_quantity`

func (r lineRow) toLineItem(cancelled bool) (LineItem, error) {
	var tls []taxLineDoc
	if err := json.Unmarshal([]byte(r.TaxLines), &tls); err != nil {
		return LineItem{}, fmt.Errorf("decode line %d tax lines: %w", r.ID, err)
	}
	l := LineItem{ID: r.ID, NewLine: NewLine{VariantID: r.VariantID, ProductID: r.ProductID, Title: r.Title,
		VariantTitle: r.VariantTitle, SKU: r.SKU, Vendor: r.Vendor, Quantity: r.Quantity, Price: money.Amount(r.Price),
		Grams: r.Grams, RequiresShipping: r.RequiresShipping, Taxable: r.Taxable, TotalDiscount: money.Amount(r.TotalDiscount),
		TaxLines: fromTaxLineDocs(tls), Tracked: r.Tracked, SellWhenOut: r.SellWhenOut},
		FulfilledQuantity: r.FulfilledQuantity, RefundedQuantity: r.RefundedQuantity, RestockedQuantity: r.RestockedQuantity,
		StockTaken: r.StockTaken}
	if !cancelled {
		l.FulfillableQuantity = max(r.Quantity-r.FulfilledQuantity-r.RefundedQuantity, 0)
	}
	switch {
	case r.FulfilledQuantity >= r.Quantity:
		s := "fulfilled"
		l.FulfillmentStatus = &s
	case r.FulfilledQuantity > 0:
		s := "partial"
		l.FulfillmentStatus = &s
	}
	return l, nil
}

// findOrders loads the orders of the rows where and args select (SQL over
// orders o, ending in its order and limit), with their lines, in two
// queries whatever the page size.
func findOrders(tx *gorm.DB, where string, args ...any) ([]Order, error) {
	var rows []orderRow
	if err := tx.Raw(`SELECT `+orderColumns+` FROM orders o WHERE `+where, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find orders: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rows))
	index := make(map[int64]int, len(rows))
	out := make([]Order, len(rows))
	for i, r := range rows {
		o, err := r.toOrder()
		if err != nil {
			return nil, err
		}
		ids[i], index[r.ID], out[i] = r.ID, i, o
	}
	var lines []lineRow
	if err := tx.Raw(`SELECT `+lineColumns+` FROM order_line_items l WHERE l.order_id IN ? ORDER BY l.order_id, l.position`, ids).Scan(&lines).Error; err != nil {
		return nil, fmt.Errorf("find order lines: %w", err)
	}
	for _, r := range lines {
		o := &out[index[r.OrderID]]
		l, err := r.toLineItem(o.CancelledAt != nil)
		if err != nil {
			return nil, err
		}
		o.Lines = append(o.Lines, l)
	}
	return out, nil
}

// findOrder loads the one order cond (over orders o) selects, or ErrOrderNotFound.
func findOrder(tx *gorm.DB, cond string, args ...any) (Order, error) {
	os, err := findOrders(tx, cond+` LIMIT 1`, args...)
	if err != nil {
		return Order{}, err
	}
	if len(os) == 0 {
		return Order{}, ErrOrderNotFound
	}
	return os[0], nil
}

// lockOrder locks order id for the rest of the transaction (its status,
// lines and money are about to change) and loads it.
func lockOrder(tx *gorm.DB, id int64) (Order, error) {
	var ids []int64
	if err := tx.Raw(`SELECT id FROM orders WHERE id = ? FOR UPDATE`, id).Scan(&ids).Error; err != nil {
		return Order{}, fmt.Errorf("lock order %d: %w", id, err)
	}
	if len(ids) == 0 {
		return Order{}, ErrOrderNotFound
	}
	return findOrder(tx, `o.id = ?`, id)
}

// nextOrderNumber draws the store's next order number.
func nextOrderNumber(tx *gorm.DB) (int64, error) {
	var n int64
	if err := tx.Raw(`SELECT nextval('order_number_seq')`).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("draw order number: %w", err)
	}
	return n, nil
}

// insertOrder inserts o (its number already drawn) and its lines, setting
// their ids.
func insertOrder(tx *gorm.DB, o *Order) error {
	ship, err1 := jsonText(toAddressDoc(o.ShippingAddress))
	bill, err2 := jsonText(toAddressDoc(o.BillingAddress))
	sls := make([]shippingLineDoc, len(o.ShippingLines))
	for i, s := range o.ShippingLines {
		sls[i] = shippingLineDoc{Title: s.Title, Code: s.Code, Source: s.Source, Price: int64(s.Price), TaxLines: toTaxLineDocs(s.TaxLines)}
	}
	dcs := make([]discountCodeDoc, len(o.DiscountCodes))
	for i, d := range o.DiscountCodes {
		dcs[i] = discountCodeDoc{Code: d.Code, Amount: int64(d.Amount), Type: d.Type}
	}
	shipLines, err3 := jsonText(sls)
	taxLines, err4 := jsonText(toTaxLineDocs(o.TaxLines))
	codes, err5 := jsonText(dcs)
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return fmt.Errorf("encode order: %w", err)
	}
	var ids []int64
	err := tx.Raw(`INSERT INTO orders (number, token, checkout_token, email, phone, customer_id, currency, taxes_included,
			shipping_address, billing_address, shipping_lines, tax_lines, discount_codes, subtotal_price, total_discounts,
			total_shipping, total_tax, total_price, financial_status, fulfillment_status, gateway, payment_method, note, tags,
			source_name, inventory_behaviour, buyer_accepts_marketing, processed_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			string_to_array(?, ','), ?, ?, ?, ?, ?, ?) RETURNING id`,
		o.Number, o.Token, o.CheckoutToken, o.Email, o.Phone, o.CustomerID, o.Currency, o.TaxesIncluded, ship, bill, *shipLines,
		*taxLines, *codes, o.SubtotalPrice, o.TotalDiscounts, o.TotalShipping, o.TotalTax, o.TotalPrice, o.FinancialStatus,
		o.FulfillmentStatus, o.Gateway, o.PaymentMethod, o.Note, strings.Join(o.Tags, ","), o.SourceName, o.InventoryBehaviour,
		o.BuyerAcceptsMarketing, o.ProcessedAt, o.CreatedAt, o.UpdatedAt).Scan(&ids).Error
	if err != nil {
		if pg.Code(err) == pg.UniqueViolation && pg.Constraint(err) == "orders_checkout_token_key" {
			return ErrCheckoutPlaced
		}
		return fmt.Errorf("insert order: %w", err)
	}
	if len(ids) != 1 {
		return errors.New("insert order: no id returned")
	}
	o.ID = ids[0]
	for i := range o.Lines {
		l := &o.Lines[i]
		tls, err := jsonText(toTaxLineDocs(l.TaxLines))
		if err != nil {
			return fmt.Errorf("encode line tax lines: %w", err)
		}
		var lids []int64
		err = tx.Raw(`INSERT INTO order_line_items (order_id, position, variant_id, product_id, title, variant_title, sku, vendor,
				quantity, price, grams, requires_shipping, taxable, total_discount, tax_lines, tracked, sell_when_out, stock_taken)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?) RETURNING id`,
			o.ID, i+1, l.VariantID, l.ProductID, l.Title, l.VariantTitle, l.SKU, l.Vendor, l.Quantity, l.Price, l.Grams,
			l.RequiresShipping, l.Taxable, l.TotalDiscount, *tls, l.Tracked, l.SellWhenOut, l.StockTaken).Scan(&lids).Error
		if err != nil {
			return fmt.Errorf("insert order line: %w", err)
		}
		if len(lids) != 1 {
			return errors.New("insert order line: no id returned")
		}
		l.ID = lids[0]
	}
	return nil
}

// insertEvent adds e to its order's timeline.
func insertEvent(tx *gorm.DB, e Event) error {
	err := tx.Exec(`INSERT INTO order_events (order_id, verb, message, actor, created_at) VALUES (?, ?, ?, ?, ?)`,
		e.OrderID, e.Verb, e.Message, e.Actor, e.CreatedAt).Error
	if err != nil {
		return fmt.Errorf("insert order event: %w", err)
	}
	return nil
}

type eventRow struct {
	ID        int64     `gorm:"column:id"`
	OrderID   int64     `gorm:"column:order_id"`
	Verb      string    `gorm:"column:verb"`
	Message   string    `gorm:"column:message"`
	Actor     string    `gorm:"column:actor"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// findEvents lists order id's timeline, oldest first.
func findEvents(tx *gorm.DB, orderID int64) ([]Event, error) {
	var rows []eventRow
	err := tx.Raw(`SELECT id, order_id, verb, message, actor, created_at FROM order_events WHERE order_id = ? ORDER BY id`, orderID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find order events: %w", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = Event(r)
	}
	return out, nil
}

// setFinancialStatus records order id's financial status.
func setFinancialStatus(tx *gorm.DB, id int64, status string, now time.Time) error {
	if err := tx.Exec(`UPDATE orders SET financial_status = ?, updated_at = ? WHERE id = ?`, status, now, id).Error; err != nil {
		return fmt.Errorf("set order %d financial status: %w", id, err)
	}
	return nil
}

type transactionRow struct {
	ID          int64     `gorm:"column:id"`
	OrderID     int64     `gorm:"column:order_id"`
	Kind        string    `gorm:"column:kind"`
	Status      string    `gorm:"column:status"`
	Amount      int64     `gorm:"column:amount"`
	Gateway     string    `gorm:"column:gateway"`
	Reference   string    `gorm:"column:reference"`
	ParentID    *int64    `gorm:"column:parent_id"`
	RefundID    *int64    `gorm:"column:refund_id"`
	Message     string    `gorm:"column:message"`
	ErrorCode   string    `gorm:"column:error_code"`
	ProcessedAt time.Time `gorm:"column:processed_at"`
	Actor       string    `gorm:"column:actor"`
	CreatedAt   time.Time `gorm:"column:created_at"`
}

const transactionColumns = `id, order_id, kind, status, amount, gateway, reference, parent_id, refund_id, message, error_code,
	processed_at, actor, created_at`

func (r transactionRow) toTransaction() Transaction {
	return Transaction{ID: r.ID, OrderID: r.OrderID, Kind: r.Kind, Status: r.Status, Amount: money.Amount(r.Amount),
		Gateway: r.Gateway, Reference: r.Reference, ParentID: r.ParentID, RefundID: r.RefundID, Message: r.Message,
		ErrorCode: r.ErrorCode, ProcessedAt: r.ProcessedAt, Actor: r.Actor, CreatedAt: r.CreatedAt}
}

// findTransactions lists order orderID's transactions in id order (only
// those ids names, when it names any).
func findTransactions(tx *gorm.DB, orderID int64, ids ...int64) ([]Transaction, error) {
	q, args := `SELECT `+transactionColumns+` FROM order_transactions WHERE order_id = ?`, []any{orderID}
	if len(ids) > 0 {
		q, args = q+` AND id IN ?`, append(args, ids)
	}
	var rows []transactionRow
	if err := tx.Raw(q+` ORDER BY id`, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find transactions: %w", err)
	}
	out := make([]Transaction, len(rows))
	for i, r := range rows {
		out[i] = r.toTransaction()
	}
	return out, nil
}

// insertTransaction inserts t unless a transaction with its reference is
// already recorded; fresh says which, and t is what is recorded.
func insertTransaction(tx *gorm.DB, t NewTransaction, now time.Time) (Transaction, bool, error) {
	var rows []transactionRow
	err := tx.Raw(`INSERT INTO order_transactions (order_id, kind, status, amount, gateway, reference, parent_id, refund_id,
			message, error_code, processed_at, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id, gateway, kind, status, reference) WHERE reference <> '' DO NOTHING
		RETURNING `+transactionColumns,
		t.OrderID, t.Kind, t.Status, t.Amount, t.Gateway, t.Reference, t.ParentID, t.RefundID, t.Message, t.ErrorCode,
		t.ProcessedAt, t.Actor, now).Scan(&rows).Error
	if err != nil {
		return Transaction{}, false, fmt.Errorf("insert transaction: %w", err)
	}
	if len(rows) == 1 {
		return rows[0].toTransaction(), true, nil
	}
	err = tx.Raw(`SELECT `+transactionColumns+` FROM order_transactions WHERE order_id = ? AND gateway = ? AND kind = ?
		AND status = ? AND reference = ?`, t.OrderID, t.Gateway, t.Kind, t.Status, t.Reference).Scan(&rows).Error
	if err != nil {
		return Transaction{}, false, fmt.Errorf("find recorded transaction: %w", err)
	}
	if len(rows) != 1 {
		return Transaction{}, false, errors.New("insert transaction: neither inserted nor found")
	}
	return rows[0].toTransaction(), false, nil
}

type fulfillmentRow struct {
	ID              int64     `gorm:"column:id"`
	OrderID         int64     `gorm:"column:order_id"`
	Seq             int       `gorm:"column:seq"`
	Number          int64     `gorm:"column:number"`
	Status          string    `gorm:"column:status"`
	TrackingCompany string    `gorm:"column:tracking_company"`
	TrackingNumbers string    `gorm:"column:tracking_numbers"`
	TrackingURLs    string    `gorm:"column:tracking_urls"`
	NotifyCustomer  bool      `gorm:"column:notify_customer"`
	CreatedAt       time.Time `gorm:"column:created_at"`
	UpdatedAt       time.Time `gorm:"column:updated_at"`
}

// splitList undoes array_to_string(…, E'\n'): tracking numbers and URLs
// hold no newline (they are validated so).
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func (r fulfillmentRow) toFulfillment() Fulfillment {
	return Fulfillment{ID: r.ID, OrderID: r.OrderID, Name: fmt.Sprintf("#%d.%d", r.Number, r.Seq), Status: r.Status,
		TrackingCompany: r.TrackingCompany, TrackingNumbers: splitList(r.TrackingNumbers), TrackingURLs: splitList(r.TrackingURLs),
		NotifyCustomer: r.NotifyCustomer, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type fulfillmentLineRow struct {
	FulfillmentID int64 `gorm:"column:fulfillment_id"`
	LineItemID    int64 `gorm:"column:line_item_id"`
	Quantity      int64 `gorm:"column:quantity"`
}

// findFulfillments lists order orderID's fulfillments in id order (only
// those ids names, when it names any), with their lines.
func findFulfillments(tx *gorm.DB, orderID int64, ids ...int64) ([]Fulfillment, error) {
	q, args := `SELECT f.id, f.order_id, f.seq, o.number, f.status, f.tracking_company,
			array_to_string(f.tracking_numbers, E'\n') AS tracking_numbers, array_to_string(f.tracking_urls, E'\n') AS tracking_urls,
			f.notify_customer, f.created_at, f.updated_at
		FROM order_fulfillments f JOIN orders o ON o.id = f.order_id WHERE f.order_id = ?`, []any{orderID}
	if len(ids) > 0 {
		q, args = q+` AND f.id IN ?`, append(args, ids)
	}
	var rows []fulfillmentRow
	if err := tx.Raw(q+` ORDER BY f.id`, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find fulfillments: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]Fulfillment, len(rows))
	index := map[int64]int{}
	fids := make([]int64, len(rows))
	for i, r := range rows {
		out[i], index[r.ID], fids[i] = r.toFulfillment(), i, r.ID
	}
	var lines []fulfillmentLineRow
	if err := tx.Raw(`SELECT fulfillment_id, line_item_id, quantity FROM order_fulfillment_line_items
		WHERE fulfillment_id IN ? ORDER BY fulfillment_id, line_item_id`, fids).Scan(&lines).Error; err != nil {
		return nil, fmt.Errorf("find fulfillment lines: %w", err)
	}
	for _, l := range lines {
		f := &out[index[l.FulfillmentID]]
		f.Lines = append(f.Lines, FulfillmentLine{LineItemID: l.LineItemID, Quantity: l.Quantity})
	}
	return out, nil
}

// insertFulfillment inserts f with its lines (numbered after the order's
// others) and counts its quantities as fulfilled on the order's lines.
func insertFulfillment(tx *gorm.DB, f *Fulfillment) error {
	var ids []int64
	err := tx.Raw(`INSERT INTO order_fulfillments (order_id, seq, status, tracking_company, tracking_numbers, tracking_urls,
			notify_customer, created_at, updated_at)
		VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM order_fulfillments WHERE order_id = ?), ?, ?,
			string_to_array(?, E'\n'), string_to_array(?, E'\n'), ?, ?, ?) RETURNING id`,
		f.OrderID, f.OrderID, f.Status, f.TrackingCompany, strings.Join(f.TrackingNumbers, "\n"), strings.Join(f.TrackingURLs, "\n"),
		f.NotifyCustomer, f.CreatedAt, f.UpdatedAt).Scan(&ids).Error
	if err != nil {
		return fmt.Errorf("insert fulfillment: %w", err)
	}
	if len(ids) != 1 {
		return errors.New("insert fulfillment: no id returned")
	}
	f.ID = ids[0]
	for _, l := range f.Lines {
		if err := tx.Exec(`INSERT INTO order_fulfillment_line_items (fulfillment_id, line_item_id, quantity) VALUES (?, ?, ?)`,
			f.ID, l.LineItemID, l.Quantity).Error; err != nil {
			return fmt.Errorf("insert fulfillment line: %w", err)
		}
		if err := addFulfilled(tx, l.LineItemID, l.Quantity); err != nil {
			return err
		}
	}
	return nil
}

// addFulfilled changes line id's fulfilled quantity by delta.
func addFulfilled(tx *gorm.DB, lineID, delta int64) error {
	if err := tx.Exec(`UPDATE order_line_items SET fulfilled_quantity = fulfilled_quantity + ? WHERE id = ?`, delta, lineID).Error; err != nil {
		return fmt.Errorf("count line %d fulfilled: %w", lineID, err)
	}
	return nil
}

// updateFulfillment writes f's status and tracking.
func updateFulfillment(tx *gorm.DB, f Fulfillment) error {
	err := tx.Exec(`UPDATE order_fulfillments SET status = ?, tracking_company = ?, tracking_numbers = string_to_array(?, E'\n'),
		tracking_urls = string_to_array(?, E'\n'), notify_customer = ?, updated_at = ? WHERE id = ?`,
		f.Status, f.TrackingCompany, strings.Join(f.TrackingNumbers, "\n"), strings.Join(f.TrackingURLs, "\n"), f.NotifyCustomer,
		f.UpdatedAt, f.ID).Error
	if err != nil {
		return fmt.Errorf("update fulfillment %d: %w", f.ID, err)
	}
	return nil
}

// setOrderState writes the parts of an order that change after it is
// placed: fulfillment status, cancellation, closing, note, tags, email,
// shipping address.
func setOrderState(tx *gorm.DB, o Order) error {
	ship, err := jsonText(toAddressDoc(o.ShippingAddress))
	if err != nil {
		return fmt.Errorf("encode order: %w", err)
	}
	err = tx.Exec(`UPDATE orders SET fulfillment_status = ?, cancelled_at = ?, cancel_reason = ?, closed_at = ?, note = ?,
		tags = string_to_array(?, ','), email = ?, shipping_address = ?::jsonb, updated_at = ? WHERE id = ?`,
		o.FulfillmentStatus, o.CancelledAt, orNull(o.CancelReason), o.ClosedAt, o.Note, strings.Join(o.Tags, ","), o.Email, ship,
		o.UpdatedAt, o.ID).Error
	if err != nil {
		return fmt.Errorf("update order %d: %w", o.ID, err)
	}
	return nil
}

// addRestocked counts units of line id put back into stock; the line's
// CHECK keeps it at most its quantity.
func addRestocked(tx *gorm.DB, lineID, n int64) error {
	if err := tx.Exec(`UPDATE order_line_items SET restocked_quantity = restocked_quantity + ? WHERE id = ?`, n, lineID).Error; err != nil {
		return fmt.Errorf("count line %d restocked: %w", lineID, err)
	}
	return nil
}

// addRefunded counts units of line id refunded.
func addRefunded(tx *gorm.DB, lineID, n int64) error {
	if err := tx.Exec(`UPDATE order_line_items SET refunded_quantity = refunded_quantity + ? WHERE id = ?`, n, lineID).Error; err != nil {
		return fmt.Errorf("count line %d refunded: %w", lineID, err)
	}
	return nil
}

func deleteOrder(tx *gorm.DB, id int64) error {
	if err := tx.Exec(`DELETE FROM order_transactions WHERE order_id = ?`, id).Error; err != nil {
		return fmt.Errorf("delete order %d transactions: %w", id, err)
	}
	res := tx.Exec(`DELETE FROM orders WHERE id = ?`, id)
	if res.Error != nil {
		return fmt.Errorf("delete order %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrOrderNotFound
	}
	return nil
}

type refundRow struct {
	ID          int64     `gorm:"column:id"`
	OrderID     int64     `gorm:"column:order_id"`
	Note        string    `gorm:"column:note"`
	Restock     bool      `gorm:"column:restock"`
	Shipping    int64     `gorm:"column:shipping"`
	Actor       string    `gorm:"column:actor"`
	ProcessedAt time.Time `gorm:"column:processed_at"`
	CreatedAt   time.Time `gorm:"column:created_at"`
}

type refundLineRow struct {
	ID          int64  `gorm:"column:id"`
	RefundID    int64  `gorm:"column:refund_id"`
	LineItemID  int64  `gorm:"column:line_item_id"`
	Quantity    int64  `gorm:"column:quantity"`
	RestockType string `gorm:"column:restock_type"`
	Restocked   int64  `gorm:"column:restocked"`
	Subtotal    int64  `gorm:"column:subtotal"`
	TotalTax    int64  `gorm:"column:total_tax"`
}

// findRefunds lists order orderID's refunds in id order (only those ids
// names, when it names any), with their lines and transactions.
func findRefunds(tx *gorm.DB, orderID int64, ids ...int64) ([]Refund, error) {
	q, args := `SELECT id, order_id, note, restock, shipping, actor, processed_at, created_at FROM order_refunds WHERE order_id = ?`, []any{orderID}
	if len(ids) > 0 {
		q, args = q+` AND id IN ?`, append(args, ids)
	}
	var rows []refundRow
	if err := tx.Raw(q+` ORDER BY id`, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find refunds: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]Refund, len(rows))
	index := map[int64]int{}
	rids := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = Refund{ID: r.ID, OrderID: r.OrderID, Note: r.Note, Restock: r.Restock, Shipping: money.Amount(r.Shipping),
			Actor: r.Actor, ProcessedAt: r.ProcessedAt, CreatedAt: r.CreatedAt}
		index[r.ID], rids[i] = i, r.ID
	}
	var lines []refundLineRow
	if err := tx.Raw(`SELECT id, refund_id, line_item_id, quantity, restock_type, restocked, subtotal, total_tax
		FROM order_refund_line_items WHERE refund_id IN ? ORDER BY refund_id, id`, rids).Scan(&lines).Error; err != nil {
		return nil, fmt.Errorf("find refund lines: %w", err)
	}
	for _, l := range lines {
		r := &out[index[l.RefundID]]
		r.Lines = append(r.Lines, RefundLine{ID: l.ID, LineItemID: l.LineItemID, Quantity: l.Quantity, RestockType: l.RestockType,
			Restocked: l.Restocked, Subtotal: money.Amount(l.Subtotal), TotalTax: money.Amount(l.TotalTax)})
	}
	ts, err := findTransactions(tx, orderID)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.RefundID != nil {
			if i, ok := index[*t.RefundID]; ok {
				out[i].Transactions = append(out[i].Transactions, t)
			}
		}
	}
	return out, nil
}

// insertRefund inserts r with its lines, setting their ids.
func insertRefund(tx *gorm.DB, r *Refund) error {
	var ids []int64
	err := tx.Raw(`INSERT INTO order_refunds (order_id, note, restock, shipping, actor, processed_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.OrderID, r.Note, r.Restock, r.Shipping, r.Actor, r.ProcessedAt, r.CreatedAt).Scan(&ids).Error
	if err != nil {
		return fmt.Errorf("insert refund: %w", err)
	}
	if len(ids) != 1 {
		return errors.New("insert refund: no id returned")
	}
	r.ID = ids[0]
	for i := range r.Lines {
		l := &r.Lines[i]
		var lids []int64
		err := tx.Raw(`INSERT INTO order_refund_line_items (refund_id, line_item_id, quantity, restock_type, restocked, subtotal, total_tax)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.ID, l.LineItemID, l.Quantity, l.RestockType, l.Restocked, l.Subtotal, l.TotalTax).Scan(&lids).Error
		if err != nil {
			return fmt.Errorf("insert refund line: %w", err)
		}
		if len(lids) == 1 {
			l.ID = lids[0]
		}
	}
	return nil
}
