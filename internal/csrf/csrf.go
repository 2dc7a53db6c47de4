// Package csrf is Storefleet's one protection against cross-site request
// forgery, for every HTML form: the storefront's customer account pages and
// the merchant dashboard.
//
// The choice: a double-submitted token bound to the session. Every visitor
// who opens a page with a form gets a random cookie (HttpOnly,
// SameSite=Lax, so nothing is kept on any one server). The token a form
// carries is an HMAC, under the guard's key, of a scope (a store, or the
// dashboard), that cookie and the visitor's session (a customer or refresh
// cookie's value). A post is accepted when its token matches the one its own
// cookies give. Another site can make a browser post, but it can read
// neither cookie nor the page, so it cannot know the token; and a token
// taken from one visitor's page (or another scope's) is worth nothing with
// another visitor's cookies. Binding the session in means that even a
// cookie planted from a sibling subdomain does not give an attacker a
// logged-in visitor's token.
package csrf

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// Header carries the token for scripts that post without a form (htmx,
// JSON).
const Header = "X-CSRF-Token"

// maxCookie is the longest cookie value a guard accepts as its own; a
// longer one is replaced.
const maxCookie = 64

// Guard issues and checks the tokens of one surface.
type Guard struct {
	// Cookie names the random per-visitor cookie.
	Cookie string
	// Field is the form field the token travels in.
	Field string
	// MaxAge is how long the cookie lasts.
	MaxAge time.Duration
	// SameOrigin lets a post through without a token when the browser says
	// it comes from the site's own pages (Sec-Fetch-Site: same-origin,
	// which no page can forge), for scripts that cannot send one.
	SameOrigin bool

	key []byte
}

// New returns a guard keyed with key (a key of its own, not shared with
// other MACs), with cookie and field names.
func New(key []byte, cookie, field string, maxAge time.Duration) *Guard {
	return &Guard{Cookie: cookie, Field: field, MaxAge: maxAge, key: key}
}

// Token is the token that r's cookie and session call for in scope's forms;
// "" when there is neither a cookie nor a session to bind it to (such a page
// is the same for everyone, and may be cached).
func (g *Guard) Token(r *http.Request, scope, session string) string {
	var cookie string
	if ck, err := r.Cookie(g.Cookie); err == nil {
		cookie = ck.Value
	}
	if cookie == "" && session == "" {
		return ""
	}
	m := hmac.New(sha256.New, g.key)
	fmt.Fprintf(m, "%s\x00%s\x00%s", scope, cookie, session)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Check says whether r carries the token its cookie and session call for
// in scope (posted, or else the Header), or comes, by the browser's word,
// from the site's own pages when the guard allows that.
func (g *Guard) Check(r *http.Request, scope, session, posted string) bool {
	if g.SameOrigin && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	want := g.Token(r, scope, session)
	if posted == "" {
		posted = r.Header.Get(Header)
	}
	return want != "" && hmac.Equal([]byte(posted), []byte(want))
}

// Ensure gives a visitor without a usable cookie a new one, on w and in r,
// so that the page rendered now carries the matching token. secure marks
// the cookie for HTTPS only.
func (g *Guard) Ensure(w http.ResponseWriter, r *http.Request, secure bool) {
	if ck, err := r.Cookie(g.Cookie); err == nil && ck.Value != "" && len(ck.Value) <= maxCookie {
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	v := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: g.Cookie, Value: v, Path: "/", MaxAge: int(g.MaxAge.Seconds()),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	r.AddCookie(&http.Cookie{Name: g.Cookie, Value: v})
}
