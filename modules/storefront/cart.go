package storefront

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/storefleet/storefleet/internal/pg"
	"net/http"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/catalog"
)

// A cart lives in the store's schema, found by a random token that only the
// shopper's cookie holds, signed so that a forged cookie is not even looked
// up; any server of the fleet can serve it.

const (
	cartCookie       = "cart"
	maxLineQuantity  = 10000
	maxCartLines     = 100
	maxAttributes    = 50
	maxAttributeText = 1000
	maxNote          = 5000
)

// errCart is a cart change the shopper must be told about; the message is
// theirs to read.
func errCart(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...)
}

func newCartToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// signCart and cartFromCookie seal the cart token with an HMAC under the
// storefront's key.
func (h *Handler) signCart(token string) string {
	m := hmac.New(sha256.New, h.cartKey)
	m.Write([]byte(token))
	return token + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func (h *Handler) cartFromCookie(r *http.Request) string {
	c, err := r.Cookie(cartCookie)
	if err != nil {
		return ""
	}
	token, _, ok := strings.Cut(c.Value, ".")
	if !ok || len(token) != 32 || !hmac.Equal([]byte(h.signCart(token)), []byte(c.Value)) {
		return ""
	}
	return token
}

func (h *Handler) setCartCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: cartCookie, Value: h.signCart(token), Path: "/", MaxAge: 14 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// line is one variant in a cart.
type line struct {
	VariantID  int64             `gorm:"column:variant_id"`
	Quantity   int               `gorm:"column:quantity"`
	PriceSeen  int64             `gorm:"column:price_seen"`
	Properties jsonMap           `gorm:"column:properties"`
	product    catalog.Product   // the variant's product, when it is on the shelf
	variant    *catalog.Variant  // nil when the variant is gone
	props      map[string]string // decoded properties
}

// jsonMap reads a jsonb object of strings.
type jsonMap string

// cart is a shopper's cart with its lines' variants.
type cart struct {
	Token      string
	Note       string
	Attributes map[string]string
	Lines      []line
	Notices    []string // changes made since the shopper last looked
}

// findCart loads the cart with token and its lines' products; nil when
// there is none.
func findCart(tx *gorm.DB, token string) (*cart, error) {
	if token == "" {
		return nil, nil
	}
	var rows []struct {
		Note       string `gorm:"column:note"`
		Attributes string `gorm:"column:attributes"`
	}
	if err := tx.Raw(`SELECT note, attributes::text AS attributes FROM carts WHERE token = ?`, token).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find cart: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	c := &cart{Token: token, Note: rows[0].Note, Attributes: map[string]string{}}
	json.Unmarshal([]byte(rows[0].Attributes), &c.Attributes)
	if err := tx.Raw(`SELECT variant_id, quantity, price_seen, properties::text AS properties FROM cart_lines
		WHERE cart_token = ? ORDER BY added_at, variant_id`, token).Scan(&c.Lines).Error; err != nil {
		return nil, fmt.Errorf("find cart lines: %w", err)
	}
	ids := make([]int64, len(c.Lines))
	for i, l := range c.Lines {
		ids[i] = l.VariantID
	}
	shelf := map[int64]catalog.Product{}
	if len(ids) > 0 {
		var err error
		if shelf, err = catalog.ShelfVariantsIn(tx, ids); err != nil {
			return nil, err
		}
	}
	for i := range c.Lines {
		l := &c.Lines[i]
		l.props = map[string]string{}
		json.Unmarshal([]byte(l.Properties), &l.props)
		if p, ok := shelf[l.VariantID]; ok {
			l.product = p
			for k := range p.Variants {
				if p.Variants[k].ID == l.VariantID {
					l.variant = &p.Variants[k]
				}
			}
		}
	}
	return c, nil
}

// stockFor is how many of v a shopper may have: unlimited (-1) unless its
// stock is tracked and it is not sold on when out.
func stockFor(v catalog.Variant) int {
	if v.InventoryManagement == nil || v.InventoryPolicy == "continue" {
		return -1
	}
	return int(max(v.InventoryQuantity, 0))
}

func lineTitle(p catalog.Product, v catalog.Variant) string {
	if t := v.Title(); t != "" && t != "Default Title" {
		return p.Title + " - " + t
	}
	return p.Title
}

// reconcile brings c's lines in line with the shelf, in tx: a variant gone
// or unpublished leaves the cart, a quantity above the stock comes down to
// it, and a changed price is noted; each change is a notice for the
// shopper. It writes only what changed.
func reconcile(tx *gorm.DB, c *cart, cur money.Currency) error {
	kept := c.Lines[:0]
	for _, l := range c.Lines {
		if l.variant == nil {
			c.Notices = append(c.Notices, "An item in your cart is no longer available and was removed.")
			if err := tx.Exec(`DELETE FROM cart_lines WHERE cart_token = ? AND variant_id = ?`, c.Token, l.VariantID).Error; err != nil {
				return fmt.Errorf("remove cart line: %w", err)
			}
			continue
		}
		title := lineTitle(l.product, *l.variant)
		changed := false
		if stock := stockFor(*l.variant); stock >= 0 && l.Quantity > stock {
			if stock == 0 {
				c.Notices = append(c.Notices, fmt.Sprintf("%s sold out and was removed from your cart.", title))
				if err := tx.Exec(`DELETE FROM cart_lines WHERE cart_token = ? AND variant_id = ?`, c.Token, l.VariantID).Error; err != nil {
					return fmt.Errorf("remove cart line: %w", err)
				}
				continue
			}
			c.Notices = append(c.Notices, fmt.Sprintf("Only %d of %s are left; your cart now has %d.", stock, title, stock))
			l.Quantity, changed = stock, true
		}
		if price := int64(l.variant.Price); price != l.PriceSeen {
			c.Notices = append(c.Notices, fmt.Sprintf("The price of %s changed from %s to %s.", title,
				formatMoney(cur, l.PriceSeen), formatMoney(cur, price)))
			l.PriceSeen, changed = price, true
		}
		if changed {
			err := tx.Exec(`UPDATE cart_lines SET quantity = ?, price_seen = ? WHERE cart_token = ? AND variant_id = ?`,
				l.Quantity, l.PriceSeen, c.Token, l.VariantID).Error
			if err != nil {
				return fmt.Errorf("update cart line: %w", err)
			}
		}
		kept = append(kept, l)
	}
	c.Lines = kept
	return nil
}

func formatMoney(cur money.Currency, a int64) string {
	return cur.Format(money.Amount(a)) + " " + cur.Code
}

// ensureCart makes the cart row for token, and locks it, so that changes to
// one cart happen one at a time.
func ensureCart(tx *gorm.DB, token string) error {
	if err := tx.Exec(`INSERT INTO carts (token) VALUES (?) ON CONFLICT (token) DO NOTHING`, token).Error; err != nil {
		return fmt.Errorf("create cart: %w", err)
	}
	if err := tx.Exec(`SELECT 1 FROM carts WHERE token = ? FOR UPDATE`, token).Error; err != nil {
		return fmt.Errorf("lock cart: %w", err)
	}
	return nil
}

// addition is a variant to put in the cart.
type addition struct {
	VariantID  int64
	Quantity   int
	Properties map[string]string
}

// addLines adds each addition to cart token (made if missing), on top of
// what the cart holds, within the stock. It returns the lines added.
//
// Errors: NotFound (no such variant on the shelf), Invalid (sold out, not
// that many left, too many lines, bad properties) with a message for the
// shopper.
func addLines(tx *gorm.DB, token string, adds []addition) ([]int64, error) {
	if len(adds) == 0 {
		return nil, errCart("Nothing to add: choose an item.")
	}
	if err := ensureCart(tx, token); err != nil {
		return nil, err
	}
	ids := make([]int64, len(adds))
	for i, a := range adds {
		ids[i] = a.VariantID
	}
	shelf, err := catalog.ShelfVariantsIn(tx, ids)
	if err != nil {
		return nil, err
	}
	var n int
	if err := tx.Raw(`SELECT count(*) FROM cart_lines WHERE cart_token = ?`, token).Scan(&n).Error; err != nil {
		return nil, fmt.Errorf("count cart lines: %w", err)
	}
	for _, a := range adds {
		p, ok := shelf[a.VariantID]
		if !ok {
			return nil, errs.E(errs.NotFound, "Cannot find variant")
		}
		var v catalog.Variant
		for _, pv := range p.Variants {
			if pv.ID == a.VariantID {
				v = pv
			}
		}
		if a.Quantity < 1 || a.Quantity > maxLineQuantity {
			return nil, errCart("The quantity must be a whole number from 1 to %d.", maxLineQuantity)
		}
		if err := checkProperties(a.Properties); err != nil {
			return nil, err
		}
		var have []int
		if err := tx.Raw(`SELECT quantity FROM cart_lines WHERE cart_token = ? AND variant_id = ?`, token, v.ID).Scan(&have).Error; err != nil {
			return nil, fmt.Errorf("find cart line: %w", err)
		}
		already := 0
		if len(have) > 0 {
			already = have[0]
		} else if n++; n > maxCartLines {
			return nil, errCart("A cart holds at most %d different items.", maxCartLines)
		}
		title := lineTitle(p, v)
		want := already + a.Quantity
		if stock := stockFor(v); stock >= 0 && want > stock {
			switch {
			case stock == 0:
				return nil, errCart("%s is sold out.", title)
			case already >= stock:
				return nil, errCart("All %d %s are in your cart.", stock, title)
			default:
				return nil, errCart("You can only add %d %s to the cart.", stock-already, title)
			}
		}
		if want > maxLineQuantity {
			return nil, errCart("A cart holds at most %d of one item.", maxLineQuantity)
		}
		props, _ := json.Marshal(orEmpty(a.Properties))
		err := tx.Exec(`INSERT INTO cart_lines (cart_token, variant_id, quantity, price_seen, properties) VALUES (?, ?, ?, ?, ?::jsonb)
			ON CONFLICT (cart_token, variant_id) DO UPDATE SET quantity = excluded.quantity, price_seen = excluded.price_seen,
				properties = cart_lines.properties || excluded.properties`,
			token, v.ID, want, int64(v.Price), string(props)).Error
		if err != nil {
			return nil, fmt.Errorf("add cart line: %w", err)
		}
	}
	return ids, touchCart(tx, token)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func checkProperties(m map[string]string) error {
	if len(m) > maxAttributes {
		return errCart("An item may have at most %d properties.", maxAttributes)
	}
	for k, v := range m {
		if k == "" || utf8.RuneCountInString(k) > 250 || utf8.RuneCountInString(v) > maxAttributeText {
			return errCart("Item properties need a name of at most 250 characters and a value of at most %d.", maxAttributeText)
		}
	}
	return nil
}

func touchCart(tx *gorm.DB, token string) error {
	if err := tx.Exec(`UPDATE carts SET updated_at = now() WHERE token = ?`, token).Error; err != nil {
		return fmt.Errorf("touch cart: %w", err)
	}
	return nil
}

// setQuantity sets the quantity of variant id in cart token (0 removes it),
// within the stock.
//
// Errors: NotFound (not in the cart), Invalid.
func setQuantity(tx *gorm.DB, token string, variantID int64, qty int) error {
	if qty < 0 || qty > maxLineQuantity {
		return errCart("The quantity must be a whole number from 0 to %d.", maxLineQuantity)
	}
	if err := ensureCart(tx, token); err != nil {
		return err
	}
	if qty == 0 {
		res := tx.Exec(`DELETE FROM cart_lines WHERE cart_token = ? AND variant_id = ?`, token, variantID)
		if res.Error != nil {
			return fmt.Errorf("remove cart line: %w", res.Error)
		}
		return touchCart(tx, token)
	}
	shelf, err := catalog.ShelfVariantsIn(tx, []int64{variantID})
	if err != nil {
		return err
	}
	p, ok := shelf[variantID]
	if !ok {
		return errs.E(errs.NotFound, "Cannot find variant")
	}
	for _, v := range p.Variants {
		if v.ID != variantID {
			continue
		}
		if stock := stockFor(v); stock >= 0 && qty > stock {
			if stock == 0 {
				return errCart("%s is sold out.", lineTitle(p, v))
			}
			return errCart("You can only have %d %s in your cart.", stock, lineTitle(p, v))
		}
		res := tx.Exec(`UPDATE cart_lines SET quantity = ?, price_seen = ? WHERE cart_token = ? AND variant_id = ?`, qty, int64(v.Price), token, variantID)
		if res.Error != nil {
			return fmt.Errorf("update cart line: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errs.E(errs.NotFound, "That item is not in your cart.")
		}
	}
	return touchCart(tx, token)
}

// setNoteAndAttributes changes the cart's note and merges attributes (an
// empty value removes one).
func setNoteAndAttributes(tx *gorm.DB, token string, note *string, attrs map[string]string) error {
	if note == nil && len(attrs) == 0 {
		return nil
	}
	if err := ensureCart(tx, token); err != nil {
		return err
	}
	if note != nil {
		if utf8.RuneCountInString(*note) > maxNote {
			return errCart("The note may be at most %d characters.", maxNote)
		}
		if err := tx.Exec(`UPDATE carts SET note = ? WHERE token = ?`, *note, token).Error; err != nil {
			return fmt.Errorf("set cart note: %w", err)
		}
	}
	if len(attrs) > 0 {
		if err := checkProperties(attrs); err != nil {
			return errCart("Cart attributes need a name of at most 250 characters and a value of at most %d.", maxAttributeText)
		}
		set, drop := map[string]string{}, []string{}
		for k, v := range attrs {
			if v == "" {
				drop = append(drop, k)
			} else {
				set[k] = v
			}
		}
		b, _ := json.Marshal(set)
		err := tx.Exec(`UPDATE carts SET attributes = (attributes || ?::jsonb) - ?::text[] WHERE token = ?`, string(b), pg.TextArray(drop), token).Error
		if err != nil {
			return fmt.Errorf("set cart attributes: %w", err)
		}
		var n int
		if err := tx.Raw(`SELECT count(*) FROM carts, jsonb_object_keys(attributes) WHERE token = ?`, token).Scan(&n).Error; err != nil {
			return fmt.Errorf("count cart attributes: %w", err)
		}
		if n > maxAttributes {
			return errCart("A cart may have at most %d attributes.", maxAttributes)
		}
	}
	return touchCart(tx, token)
}

// clearCart removes every item from cart token; as Shopify's clear, it
// keeps the note and attributes.
func clearCart(tx *gorm.DB, token string) error {
	if err := tx.Exec(`DELETE FROM cart_lines WHERE cart_token = ?`, token).Error; err != nil {
		return fmt.Errorf("clear cart: %w", err)
	}
	return touchCart(tx, token)
}
