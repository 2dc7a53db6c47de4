package apps

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
)

// Page sizes of every list, as Shopify has them.
const (
	DefaultLimit = 50
	MaxLimit     = 250
)

// Malformed turns an error with per-field problems into a 400 (a request
// that cannot be read as asked), keeping its messages.
func Malformed(err error) error {
	return &errs.Error{Kind: errs.Malformed, Message: errs.MessageOf(err), Fields: errs.FieldsOf(err)}
}

// ParseList splits the comma-separated parameter name of v, recording a
// problem in f when it lists more than MaxLimit items.
func ParseList(f errs.Fields, v url.Values, name string) []string {
	list := SplitList(v.Get(name))
	if len(list) > MaxLimit {
		f.Add(name, "may list at most %d items", MaxLimit)
		return nil
	}
	return list
}

// SplitList splits a comma-separated parameter, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// FileID reads the "<id>.json" (or bare "<id>") of a path segment, or
// returns notFound.
func FileID(s string, notFound error) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSuffix(s, ".json"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound
	}
	return id, nil
}

// SplitTags splits Shopify's comma-separated tag list, trimming, dropping
// empty and repeated tags (ignoring case) and keeping the first spelling.
func SplitTags(s string) []string {
	var out []string
	seen := map[string]bool{}
	for t := range strings.SplitSeq(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" || seen[strings.ToLower(t)] {
			continue
		}
		seen[strings.ToLower(t)] = true
		out = append(out, t)
	}
	return out
}

var typeOfString = reflect.TypeOf("")

// TagList is tags in a request, as Shopify takes them: "a, b" or ["a", "b"].
type TagList []string

// UnmarshalJSON reads either form.
func (t *TagList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = SplitTags(s)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: typeOfString}
	}
	*t = SplitTags(strings.Join(list, ","))
	return nil
}

// ParseLimit reads the limit parameter (default DefaultLimit, at most
// MaxLimit), recording a problem in f.
func ParseLimit(f errs.Fields, v url.Values) int {
	s := v.Get("limit")
	if s == "" {
		return DefaultLimit
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		f.Add("limit", "must be a whole number from 1 to %d", MaxLimit)
	}
	return n
}

// maxPageInfo bounds a page_info cursor: the filters it carries come from a
// first request's parameters, which are bounded too, and a forged cursor
// must not smuggle in more (a query with too many parameters fails).
const maxPageInfo = 4096

// cursor is what page_info carries: the first request's filters and where
// the page starts. It is opaque to clients; tampering with it can only
// select other rows of the same store.
type cursor struct {
	Filters json.RawMessage `json:"q"`
	After   int64           `json:"a,omitempty"`
	Before  int64           `json:"b,omitempty"`
}

// PageInfo reads a page_info cursor into filters and returns the id the page
// starts after (or before), refusing other parameters than limit and fields,
// as Shopify does.
func PageInfo(f errs.Fields, v url.Values, filters any) (after, before int64) {
	if len(v.Get("page_info")) > maxPageInfo {
		f.Add("page_info", "is invalid; use the link from the previous response as it is")
		return 0, 0
	}
	for k := range v {
		if k != "page_info" && k != "limit" && k != "fields" {
			f.Add(k, "cannot be combined with page_info; the filters of the first request carry over")
		}
	}
	var cur cursor
	b, err := base64.RawURLEncoding.DecodeString(v.Get("page_info"))
	if err != nil || json.Unmarshal(b, &cur) != nil || (cur.After == 0) == (cur.Before == 0) || json.Unmarshal(cur.Filters, filters) != nil {
		f.Add("page_info", "is invalid; use the link from the previous response as it is")
	}
	return cur.After, cur.Before
}

// SetLinks writes the Link header of a page whose rows run from id first to
// id last: next when more rows follow in id order (or the page was reached
// going back), previous when the page is not the first. filters are what
// the cursors carry; limit is the page size.
func SetLinks(c *gin.Context, filters any, limit int, first, last int64, backward, more, paged bool) {
	SetPageLinks(c, limit, filters, last, filters, first, backward, more, paged)
}

// SetPageLinks is SetLinks for lists whose order has more than an id: the
// next link carries nextFilters and continues after id after, the previous
// link carries prevFilters and continues before id before, so each can hold
// its own tie-breaker.
func SetPageLinks(c *gin.Context, limit int, nextFilters any, after int64, prevFilters any, before int64, backward, more, paged bool) {
	var links []string
	if (!backward && more) || backward {
		links = append(links, pageLink(c, nextFilters, limit, cursor{After: after}, "next"))
	}
	if (backward && more) || (!backward && paged) {
		links = append(links, pageLink(c, prevFilters, limit, cursor{Before: before}, "previous"))
	}
	if len(links) > 0 {
		c.Header("Link", strings.Join(links, ", "))
	}
}

func pageLink(c *gin.Context, filters any, limit int, cur cursor, rel string) string {
	cur.Filters, _ = json.Marshal(filters)
	b, _ := json.Marshal(cur)
	v := url.Values{"limit": {strconv.Itoa(limit)}, "page_info": {base64.RawURLEncoding.EncodeToString(b)}}
	if f := c.Query("fields"); f != "" {
		v.Set("fields", f)
	}
	scheme := "http"
	if c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return fmt.Sprintf(`<%s://%s%s?%s>; rel="%s"`, scheme, c.Request.Host, c.Request.URL.Path, v.Encode(), rel)
}

// KeepFields keeps only the named top-level JSON fields of v (all when
// fields is empty), for the fields parameter.
func KeepFields(v any, fields []string) any {
	if len(fields) == 0 {
		return v
	}
	var m map[string]json.RawMessage
	b, _ := json.Marshal(v)
	json.Unmarshal(b, &m)
	for k := range m {
		keep := false
		for _, f := range fields {
			keep = keep || f == k
		}
		if !keep {
			delete(m, k)
		}
	}
	return m
}

// Optional is a JSON field that may be absent, null or a value, for updates
// where null means "clear it".
type Optional[T any] struct {
	Set   bool // present in the body
	Null  bool // present as null
	Value T
}

// UnmarshalJSON records that the field was present, and whether as null.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// Decimal is an amount as Shopify clients send it: "19.99" or 19.99, kept as
// text so that money.Currency.Parse reads it exactly.
type Decimal string

// UnmarshalJSON accepts a string or a number.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*d = Decimal(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: typeOfString}
	}
	*d = Decimal(n.String())
	return nil
}
