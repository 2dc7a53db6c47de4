package dashboard

import (
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"
)

// cursor is where a list shown newest first stands: ?after=<id> asks for
// the rows older than the last one shown, ?before=<id> for those newer than
// the first. The modules page in id order, so this list's "after" is their
// "before".
type cursor struct {
	after, before int64
}

// readCursor reads the request's cursor; a bad number is no cursor.
func readCursor(c *gin.Context) cursor {
	after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	return cursor{after: after, before: before}
}

// bounds are the module query's After and Before for the page asked for.
func (cur cursor) bounds() (after, before int64) {
	switch {
	case cur.after > 0:
		return 0, cur.after
	case cur.before > 0:
		return cur.before, 0
	default:
		return 0, 1<<63 - 1
	}
}

// links are the Prev and Next links of a page whose rows run from id first
// to id last (newest first), more being the module's word that rows lie
// beyond; keep holds the list's filters, carried along.
func (cur cursor) links(first, last int64, more bool, keep url.Values) (prev, next string) {
	link := func(key string, id int64) string {
		v := url.Values{}
		for k, vs := range keep {
			v[k] = vs
		}
		v.Set(key, strconv.FormatInt(id, 10))
		return "?" + v.Encode()
	}
	backward := cur.before > 0
	if (backward && more) || (!backward && cur.after > 0) {
		prev = link("before", first)
	}
	if (!backward && more) || backward {
		next = link("after", last)
	}
	return prev, next
}
