package storefront

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// Previewing a theme: the Admin API (and the CLI) hand out a preview URL,
// /?preview_theme_id=N&preview_token=T, where T is signed for one store and
// one theme and expires within an hour. A request with a valid token gets
// that theme, and a cookie holding the token, so that the pages it links to
// keep showing it until the token expires or ?preview_theme_id=0 ends the
// preview. Without a valid token or cookie, preview_theme_id is ignored:
// shoppers see the published theme and nothing else. Preview pages are
// never stored by caches.

const (
	previewCookie = "preview_theme"
	previewTTL    = time.Hour
)

// previewSigner signs and checks preview tokens: "<theme>.<expiry
// unix>.<HMAC-SHA256 of store, theme and expiry, 128 bits, base64url>".
type previewSigner struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// newPreviewSigner derives the preview key from the storefront's cart key,
// with a purpose of its own, so that neither signature can stand for the
// other.
func newPreviewSigner(cartKey []byte) previewSigner {
	m := hmac.New(sha256.New, cartKey)
	m.Write([]byte("storefleet theme preview v1"))
	return previewSigner{key: m.Sum(nil), ttl: previewTTL, now: time.Now}
}

func (h *Handler) previewSigner() previewSigner { return newPreviewSigner(h.cartKey) }

func (p previewSigner) mac(store tenant.ID, theme, expires int64) string {
	m := hmac.New(sha256.New, p.key)
	fmt.Fprintf(m, "preview\x00%d\x00%d\x00%d", store, theme, expires)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// sign returns a token for theme of store, valid for the signer's TTL.
func (p previewSigner) sign(store tenant.ID, theme int64) string {
	exp := p.now().Add(p.ttl).Unix()
	return fmt.Sprintf("%d.%d.%s", theme, exp, p.mac(store, theme, exp))
}

// verify returns the theme a token of store is for and when it expires;
// ok is false for a token that is malformed, forged, another store's, or
// expired.
func (p previewSigner) verify(store tenant.ID, token string) (theme int64, expires time.Time, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return 0, time.Time{}, false
	}
	theme, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || theme <= 0 {
		return 0, time.Time{}, false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(p.mac(store, theme, exp))) {
		return 0, time.Time{}, false
	}
	expires = time.Unix(exp, 0)
	if !p.now().Before(expires) {
		return 0, time.Time{}, false
	}
	return theme, expires, true
}

// themeFor is the theme a request sees: the theme being previewed, for a
// request with a valid preview token or cookie of this store, else the
// store's published theme.
func (h *Handler) themeFor(c *gin.Context, tx *gorm.DB) (themeRow, error) {
	t := tenant.FromContext(c.Request.Context())
	p := h.previewSigner()
	asked := c.Query("preview_theme_id")
	if asked == "0" { // leave the preview
		if _, err := c.Request.Cookie(previewCookie); err == nil {
			noStore(c)
			setPreviewCookie(c, "", -1)
		}
		return findTheme(tx, 0)
	}
	var theme int64
	if tok := c.Query("preview_token"); asked != "" && tok != "" {
		if id, exp, ok := p.verify(t.ID, tok); ok && strconv.FormatInt(id, 10) == asked {
			theme = id
			setPreviewCookie(c, tok, int(time.Until(exp).Seconds())+1)
		}
	}
	if theme == 0 {
		if ck, err := c.Request.Cookie(previewCookie); err == nil {
			if id, _, ok := p.verify(t.ID, ck.Value); ok {
				theme = id
			}
		}
	}
	if theme == 0 {
		return findTheme(tx, 0)
	}
	noStore(c)
	row, err := findTheme(tx, theme)
	if errs.Is(err, errs.NotFound) { // deleted since: back to the published theme
		setPreviewCookie(c, "", -1)
		return findTheme(tx, 0)
	}
	return row, err
}

// noStore keeps a response out of every cache: it shows a theme that is not
// the store's published one, or changes the preview cookie.
func noStore(c *gin.Context) { c.Header("Cache-Control", "private, no-store") }

func setPreviewCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: previewCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteLaxMode})
}
