package storefront

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
)

// cartRequest is a cart change, read from a form post or an AJAX JSON body.
type cartRequest struct {
	adds        []addition
	multi       bool // items: [...] rather than one item
	line        int  // /cart/change: the line (from 1) ...
	changeID    int64
	quantity    int // ... and its new quantity
	updates     map[int64]int
	lineUpdates []int // updates[] by line order
	note        *string
	attributes  map[string]string
	checkout    bool
}

const maxCartBody = 64 << 10

func malformed(format string, args ...any) error { return errs.E(errs.Malformed, format, args...) }

// readCartRequest reads the change op (/add, /change, /update, /clear, or
// "" for the cart form) asks for.
func readCartRequest(c *gin.Context, op string) (cartRequest, error) {
	var req cartRequest
	r := c.Request
	if r.Method == http.MethodGet { // remove links: /cart/change?line=1&quantity=0
		return req, req.fromValues(op, r.URL.Query())
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	r.Body = http.MaxBytesReader(c.Writer, r.Body, maxCartBody)
	switch mt {
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return req, malformed("the request is larger than %d KiB", maxCartBody>>10)
		}
		return req, req.fromJSON(op, body)
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxCartBody); err != nil {
			return req, malformed("the form could not be read")
		}
	default:
		if err := r.ParseForm(); err != nil {
			return req, malformed("the form could not be read")
		}
	}
	return req, req.fromValues(op, r.Form)
}

func atoi(s string, def int) (int, error) {
	if s = strings.TrimSpace(s); s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, malformed("%q is not a whole number", s)
	}
	return n, nil
}

// bracketed collects form fields name[key]=value.
func bracketed(v url.Values, name string) map[string]string {
	out := map[string]string{}
	for k, vs := range v {
		if rest, ok := strings.CutPrefix(k, name+"["); ok && strings.HasSuffix(rest, "]") && len(vs) > 0 {
			out[strings.TrimSuffix(rest, "]")] = vs[0]
		}
	}
	return out
}

func (req *cartRequest) fromValues(op string, v url.Values) error {
	var err error
	switch op {
	case "/add":
		id, perr := strconv.ParseInt(v.Get("id"), 10, 64)
		if perr != nil {
			return malformed("choose an item to add (id)")
		}
		q, err := atoi(v.Get("quantity"), 1)
		if err != nil {
			return err
		}
		req.adds = []addition{{VariantID: id, Quantity: q, Properties: bracketed(v, "properties")}}
		return nil
	case "/change":
		if req.line, err = atoi(v.Get("line"), 0); err != nil {
			return err
		}
		if id := v.Get("id"); id != "" {
			if req.changeID, err = strconv.ParseInt(strings.SplitN(id, ":", 2)[0], 10, 64); err != nil {
				return malformed("%q is not an item of the cart", id)
			}
		}
		if req.quantity, err = atoi(v.Get("quantity"), 1); err != nil {
			return err
		}
		if req.line <= 0 && req.changeID == 0 {
			return malformed("say which item to change (line or id)")
		}
	}
	if ups, ok := v["updates[]"]; ok {
		for _, s := range ups {
			q, err := atoi(s, 0)
			if err != nil {
				return err
			}
			req.lineUpdates = append(req.lineUpdates, q)
		}
	}
	for k, s := range bracketed(v, "updates") {
		if k == "" { // updates[], by line, read above
			continue
		}
		id, err := strconv.ParseInt(strings.SplitN(k, ":", 2)[0], 10, 64)
		if err != nil {
			return malformed("%q is not an item of the cart", k)
		}
		q, err := atoi(s, 0)
		if err != nil {
			return err
		}
		if req.updates == nil {
			req.updates = map[int64]int{}
		}
		req.updates[id] = q
	}
	if _, ok := v["note"]; ok {
		n := v.Get("note")
		req.note = &n
	}
	req.attributes = bracketed(v, "attributes")
	_, req.checkout = v["checkout"]
	return nil
}

// jsonID is a variant id as clients send it: a number, or a string such as
// "123" or a line key "123:abc".
type jsonID int64

func (j *jsonID) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		*j = jsonID(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("id must be a number")
	}
	n, err := strconv.ParseInt(strings.SplitN(s, ":", 2)[0], 10, 64)
	if err != nil {
		return fmt.Errorf("id %q is not an item", s)
	}
	*j = jsonID(n)
	return nil
}

type jsonItem struct {
	ID         jsonID            `json:"id"`
	Quantity   *int              `json:"quantity"`
	Properties map[string]string `json:"properties"`
}

func (req *cartRequest) fromJSON(op string, body []byte) error {
	var in struct {
		jsonItem
		Items      []jsonItem        `json:"items"`
		Line       int               `json:"line"`
		Updates    json.RawMessage   `json:"updates"`
		Note       *string           `json:"note"`
		Attributes map[string]string `json:"attributes"`
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}") // /cart/clear.js and friends are often posted empty
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return malformed("the request body is not the JSON the cart API takes: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	qty := func(q *int, def int) int {
		if q == nil {
			return def
		}
		return *q
	}
	switch op {
	case "/add":
		items := in.Items
		req.multi = len(items) > 0
		if !req.multi {
			items = []jsonItem{in.jsonItem}
		}
		if len(items) > maxCartLines {
			return malformed("add at most %d items at once", maxCartLines)
		}
		for _, it := range items {
			if it.ID <= 0 {
				return malformed("choose an item to add (id)")
			}
			req.adds = append(req.adds, addition{VariantID: int64(it.ID), Quantity: qty(it.Quantity, 1), Properties: it.Properties})
		}
	case "/change":
		req.line, req.changeID, req.quantity = in.Line, int64(in.ID), qty(in.Quantity, 1)
		if req.line <= 0 && req.changeID == 0 {
			return malformed("say which item to change (line or id)")
		}
	}
	if len(in.Updates) > 0 && string(in.Updates) != "null" {
		var byLine []int
		var byID map[string]int
		switch {
		case json.Unmarshal(in.Updates, &byLine) == nil:
			req.lineUpdates = byLine
		case json.Unmarshal(in.Updates, &byID) == nil:
			req.updates = map[int64]int{}
			for k, q := range byID {
				id, err := strconv.ParseInt(strings.SplitN(k, ":", 2)[0], 10, 64)
				if err != nil {
					return malformed("%q is not an item of the cart", k)
				}
				req.updates[id] = q
			}
		default:
			return malformed("updates must be a list of quantities or an object of id: quantity")
		}
	}
	req.note, req.attributes = in.Note, in.Attributes
	return nil
}

// lineVariants lists cart token's variant ids in line order.
func lineVariants(tx *gorm.DB, token string) ([]int64, error) {
	var ids []int64
	if err := tx.Raw(`SELECT variant_id FROM cart_lines WHERE cart_token = ? ORDER BY added_at, variant_id`, token).Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("list cart lines: %w", err)
	}
	return ids, nil
}

// changeLine sets the quantity of the line req names (by line number or
// variant id).
func changeLine(tx *gorm.DB, token string, req cartRequest) error {
	id := req.changeID
	if req.line > 0 {
		ids, err := lineVariants(tx, token)
		if err != nil {
			return err
		}
		if req.line > len(ids) {
			return errs.E(errs.NotFound, "Your cart has no line %d.", req.line)
		}
		id = ids[req.line-1]
	}
	return setQuantity(tx, token, id, req.quantity)
}

// applyUpdates sets quantities by variant id and by line order.
func applyUpdates(tx *gorm.DB, token string, req cartRequest) error {
	updates := map[int64]int{}
	for id, q := range req.updates {
		updates[id] = q
	}
	if len(req.lineUpdates) > 0 {
		ids, err := lineVariants(tx, token)
		if err != nil {
			return err
		}
		for i, q := range req.lineUpdates {
			if i < len(ids) {
				updates[ids[i]] = q
			}
		}
	}
	for id, q := range updates {
		var n int
		if err := tx.Raw(`SELECT count(*) FROM cart_lines WHERE cart_token = ? AND variant_id = ?`, token, id).Scan(&n).Error; err != nil {
			return fmt.Errorf("find cart line: %w", err)
		}
		switch {
		case n == 0 && q > 0:
			if _, err := addLines(tx, token, []addition{{VariantID: id, Quantity: q}}); err != nil {
				return err
			}
		case n > 0:
			if err := setQuantity(tx, token, id, q); err != nil {
				return err
			}
		}
	}
	return nil
}
