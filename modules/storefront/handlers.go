package storefront

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// productHead is the product page's search and sharing data: OpenGraph
// tags and schema.org Product data as JSON-LD.
func productHead(v *view, p catalog.Product, o map[string]any) string {
	base := v.vars["shop"].(map[string]any)["url"].(string)
	var b strings.Builder
	meta := func(prop, content string) {
		fmt.Fprintf(&b, "\n<meta property=\"%s\" content=\"%s\">", prop, html.EscapeString(content))
	}
	meta("og:type", "product")
	meta("og:title", p.Title)
	meta("og:url", base+"/products/"+p.Handle)
	if len(p.Images) > 0 {
		meta("og:image", base+imagePath(p.Images[0].File))
	}
	meta("og:price:amount", v.currency.Format(money.Amount(o["price"].(int64))))
	meta("og:price:currency", v.currency.Code)
	type offer struct {
		Type          string `json:"@type"`
		SKU           string `json:"sku,omitempty"`
		Price         string `json:"price"`
		PriceCurrency string `json:"priceCurrency"`
		Availability  string `json:"availability"`
		URL           string `json:"url"`
	}
	ld := map[string]any{"@context": "https://schema.org", "@type": "Product", "name": p.Title,
		"url": base + "/products/" + p.Handle, "brand": map[string]any{"@type": "Brand", "name": p.Vendor}}
	if len(p.Images) > 0 {
		var imgs []string
		for _, im := range p.Images {
			imgs = append(imgs, base+imagePath(im.File))
		}
		ld["image"] = imgs
	}
	var offers []offer
	for _, pv := range p.Variants {
		avail := "https://schema.org/OutOfStock"
		if available(pv) {
			avail = "https://schema.org/InStock"
		}
		offers = append(offers, offer{Type: "Offer", SKU: pv.SKU, Price: v.currency.Format(pv.Price), PriceCurrency: v.currency.Code,
			Availability: avail, URL: fmt.Sprintf("%s/products/%s?variant=%d", base, p.Handle, pv.ID)})
	}
	ld["offers"] = offers
	js, _ := json.Marshal(ld) // escapes <, > and & as \u003c…, so it cannot close the script
	fmt.Fprintf(&b, "\n<script type=\"application/ld+json\">%s</script>", js)
	return b.String()
}

// productJS is /products/{handle}.js: the product as the AJAX API shows it.
func (h *Handler) productJS(c *gin.Context, handle string) {
	t := tenant.FromContext(c.Request.Context())
	var out map[string]any
	err := h.db.ReadTx(c.Request.Context(), t, func(tx *gorm.DB) error {
		p, err := catalog.ShelfProductIn(tx, handle)
		if err != nil {
			return err
		}
		out = toProductObject(p, 0)
		delete(out, "selected_or_first_available_variant")
		imgs := []string{}
		for _, im := range p.Images {
			imgs = append(imgs, imagePath(im.File))
		}
		out["images"] = imgs
		if len(imgs) > 0 {
			out["featured_image"] = imgs[0]
		}
		return nil
	})
	if errs.Is(err, errs.NotFound) {
		c.JSON(http.StatusNotFound, gin.H{"status": 404, "message": "Not Found", "description": "Cannot find product"})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// cartPage is /cart: the cart, brought in line with the shelf (items gone,
// stock fallen, prices changed, each with a notice), then rendered.
func (h *Handler) cartPage(c *gin.Context) {
	token := h.cartFromCookie(c.Request)
	if token != "" {
		if err := h.reconcileCart(c, token); err != nil {
			h.fail(c, err)
			return
		}
	}
	h.page(func(c *gin.Context, v *view) error {
		if v.cart != nil {
			v.cart.Notices = append(h.takeNotices(c), v.cart.Notices...)
		} else if n := h.takeNotices(c); len(n) > 0 {
			v.cart = &cart{Notices: n, Attributes: map[string]string{}}
		}
		v.vars["cart"] = toCartObject(v.cart, v.currency)
		v.template = "cart"
		v.vars["page_title"] = "Your cart – " + v.shop.Name
		v.vars["request"].(map[string]any)["page_type"] = "cart"
		return nil
	})(c)
}

// reconcileCart brings cart token in line with the shelf, keeping the
// notices for the page about to be shown.
func (h *Handler) reconcileCart(c *gin.Context, token string) error {
	t := tenant.FromContext(c.Request.Context())
	var notices []string
	err := h.db.Tx(c.Request.Context(), t, func(tx *gorm.DB) error {
		crt, err := findCart(tx, token)
		if err != nil || crt == nil {
			return err
		}
		cur, err := shop.CurrencyIn(tx)
		if err != nil {
			return err
		}
		if err := reconcile(tx, crt, cur); err != nil {
			return err
		}
		notices = crt.Notices
		return nil
	})
	if len(notices) > 0 {
		h.addNotices(c, notices)
	}
	return err
}

// Notices carry from a change (a form post, redirected) or a reconcile to
// the cart page in a short-lived cookie.
const noticeCookie = "cart_notice"

func (h *Handler) addNotices(c *gin.Context, notices []string) {
	prev := h.readNotices(c)
	b, _ := json.Marshal(append(prev, notices...))
	c.Request.AddCookie(&http.Cookie{Name: noticeCookie, Value: encodeNotice(b)}) // for this request's page
	http.SetCookie(c.Writer, &http.Cookie{Name: noticeCookie, Value: encodeNotice(b), Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) readNotices(c *gin.Context) []string {
	var out []string
	if ck, err := c.Request.Cookie(noticeCookie); err == nil {
		if b, err := decodeNotice(ck.Value); err == nil {
			json.Unmarshal(b, &out)
		}
	}
	return out
}

func (h *Handler) takeNotices(c *gin.Context) []string {
	out := h.readNotices(c)
	if len(out) > 0 {
		http.SetCookie(c.Writer, &http.Cookie{Name: noticeCookie, Value: "", Path: "/", MaxAge: -1})
	}
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

func encodeNotice(b []byte) string { return hex.EncodeToString(b) }

func decodeNotice(s string) ([]byte, error) {
	if len(s) > 4000 {
		return nil, fmt.Errorf("notice too long")
	}
	return hex.DecodeString(s)
}

// cartJS is /cart.js: the cart as the AJAX API shows it, brought in line
// with the shelf first.
func (h *Handler) cartJS(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	token := h.cartFromCookie(c.Request)
	var out cartJSON
	err := h.db.Tx(c.Request.Context(), t, func(tx *gorm.DB) error {
		cur, err := shop.CurrencyIn(tx)
		if err != nil {
			return err
		}
		crt, err := findCart(tx, token)
		if err != nil {
			return err
		}
		if crt != nil {
			if err := reconcile(tx, crt, cur); err != nil {
				return err
			}
		}
		out = toCartJSON(crt, cur)
		return nil
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// cartWrite serves every cart change, as a form post (answered with a
// redirect to /cart, and the outcome as a notice there) or as the AJAX API
// (.js: answered with JSON).
func (h *Handler) cartWrite(c *gin.Context) {
	ajax := strings.HasSuffix(c.Request.URL.Path, ".js")
	op := strings.TrimSuffix(strings.TrimPrefix(c.Request.URL.Path, "/cart"), ".js")
	toCheckout := c.Request.URL.Path == "/checkout" // the cart form's checkout button posts its updates there
	if toCheckout {
		op = ""
	}
	req, err := readCartRequest(c, op)
	if err != nil {
		h.cartError(c, ajax, err)
		return
	}
	req.checkout = req.checkout || toCheckout
	token := h.cartFromCookie(c.Request)
	if token == "" {
		token = newCartToken()
		h.setCartCookie(c.Writer, c.Request, token)
	}
	t := tenant.FromContext(c.Request.Context())
	var out cartJSON
	var added []int64
	err = h.db.Tx(c.Request.Context(), t, func(tx *gorm.DB) error {
		var err error
		switch {
		case op == "/add":
			added, err = addLines(tx, token, req.adds)
		case op == "/clear":
			err = clearCart(tx, token)
		case req.line > 0 || req.changeID != 0:
			err = changeLine(tx, token, req)
		}
		if err != nil {
			return err
		}
		if len(req.updates) > 0 || len(req.lineUpdates) > 0 {
			if err := applyUpdates(tx, token, req); err != nil {
				return err
			}
		}
		if err := setNoteAndAttributes(tx, token, req.note, req.attributes); err != nil {
			return err
		}
		cur, err := shop.CurrencyIn(tx)
		if err != nil {
			return err
		}
		crt, err := findCart(tx, token)
		if err != nil {
			return err
		}
		out = toCartJSON(crt, cur)
		return nil
	})
	if err != nil {
		h.cartError(c, ajax, err)
		return
	}
	switch {
	case !ajax && req.checkout:
		c.Redirect(http.StatusSeeOther, "/checkout")
	case !ajax:
		c.Redirect(http.StatusSeeOther, "/cart")
	case op == "/add":
		var items []cartItemJSON
		for _, it := range out.Items {
			if contains64(added, it.VariantID) {
				items = append(items, it)
			}
		}
		if len(req.adds) == 1 && !req.multi && len(items) == 1 {
			c.JSON(http.StatusOK, items[0])
		} else {
			c.JSON(http.StatusOK, gin.H{"items": items})
		}
	default:
		c.JSON(http.StatusOK, out)
	}
}

func contains64(list []int64, id int64) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}

// cartError tells the shopper why a cart change did not happen: as the
// AJAX API's error JSON, or as a notice on the cart page.
func (h *Handler) cartError(c *gin.Context, ajax bool, err error) {
	kind := errs.KindOf(err)
	if kind != errs.Invalid && kind != errs.NotFound && kind != errs.Malformed {
		h.fail(c, err)
		return
	}
	msg := errs.MessageOf(err)
	if ajax {
		status := http.StatusUnprocessableEntity
		if kind == errs.NotFound {
			status = http.StatusNotFound
		} else if kind == errs.Malformed {
			status = http.StatusBadRequest
		}
		c.JSON(status, gin.H{"status": status, "message": "Cart Error", "description": msg})
		return
	}
	h.addNotices(c, []string{msg})
	c.Redirect(http.StatusSeeOther, "/cart")
}

// robots is /robots.txt: everything but the cart, checkout and account
// pages may be crawled; the sitemap says where.
func (h *Handler) robots(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	body := "User-agent: *\nDisallow: /cart\nDisallow: /checkout\nDisallow: /account\nDisallow: /search\nDisallow: /admin\n\nSitemap: " +
		h.urls.Store(t.Slug) + "/sitemap.xml\n"
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(body))
}

type urlset struct {
	XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []struct {
		Loc string `xml:"loc"`
	} `xml:"url"`
}

// sitemap is /sitemap.xml: the home page, every product, collection and
// page shoppers can see.
func (h *Handler) sitemap(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	base := h.urls.Store(t.Slug)
	var set urlset
	add := func(p string) {
		set.URLs = append(set.URLs, struct {
			Loc string `xml:"loc"`
		}{base + p})
	}
	err := h.db.ReadTx(c.Request.Context(), t, func(tx *gorm.DB) error {
		products, collections, err := catalog.ShelfHandlesIn(tx, 20000)
		if err != nil {
			return err
		}
		pages, err := findPageHandles(tx)
		if err != nil {
			return err
		}
		add("/")
		add("/collections/all")
		for _, hd := range collections {
			add("/collections/" + hd)
		}
		for _, hd := range products {
			add("/products/" + hd)
		}
		for _, hd := range pages {
			add("/pages/" + hd)
		}
		return nil
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	b, _ := xml.MarshalIndent(set, "", " ")
	c.Data(http.StatusOK, "application/xml; charset=utf-8", append([]byte(xml.Header), b...))
}

// asset serves a theme's asset. Its URL carries the theme's version, so a
// matching request may be cached for good; a stale one is served the
// current file, briefly cacheable.
func (h *Handler) asset(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	id, err := strconv.ParseInt(c.Param("theme"), 10, 64)
	if err != nil {
		c.Status(http.StatusNotFound)
		return
	}
	var body []byte
	var version int64
	err = h.db.ReadTx(c.Request.Context(), t, func(tx *gorm.DB) error {
		row, err := findTheme(tx, id)
		if err != nil {
			return err
		}
		th, err := h.themes.load(tx, t, row)
		if err != nil {
			return err
		}
		version = row.Version
		body, err = th.Asset(c.Param("file"))
		if err != nil {
			return errNotFound
		}
		return nil
	})
	if errs.Is(err, errs.NotFound) {
		c.Status(http.StatusNotFound)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w := c.Writer.Header()
	ctype := mime.TypeByExtension(path.Ext(c.Param("file")))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Set("Content-Type", ctype)
	w.Set("ETag", etag)
	w.Set("X-Content-Type-Options", "nosniff")
	// An uploaded SVG could carry script; served from the store's origin,
	// it runs in a sandbox with no origin of its own.
	w.Set("Content-Security-Policy", "sandbox")
	if c.Query("v") == strconv.FormatInt(version, 10) {
		w.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Set("Cache-Control", "public, max-age=60")
	}
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return
	}
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, strings.NewReader(string(body)))
}

// image serves a product image through the catalog.
func (h *Handler) image(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	if err := h.catalog.ServeImage(c.Writer, c.Request, t, c.Param("file")); err != nil {
		h.fail(c, err)
	}
}

// favicon answers browsers' /favicon.ico: the theme's own (assets/favicon.ico
// or favicon.png), or nothing, without an error.
func (h *Handler) favicon(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	var body []byte
	var ctype string
	err := h.db.ReadTx(c.Request.Context(), t, func(tx *gorm.DB) error {
		row, err := findTheme(tx, 0)
		if err != nil {
			return err
		}
		th, err := h.themes.load(tx, t, row)
		if err != nil {
			return err
		}
		for _, name := range []string{"favicon.ico", "favicon.png"} {
			if b, err := th.Asset(name); err == nil {
				body, ctype = b, mime.TypeByExtension(path.Ext(name))
				return nil
			}
		}
		return nil
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "public, max-age=86400")
	if body == nil {
		c.Status(http.StatusNoContent)
		return
	}
	c.Data(http.StatusOK, ctype, body)
}
