package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenant"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// assetPrefix is where static files are served, under a version that is
// their content's hash, so they can be cached for good.
const assetPrefix = "/static"

// assets are the embedded static files and their versioned URLs.
type assets struct {
	files   map[string][]byte
	version map[string]string // file → content hash
}

func newAssets() *assets {
	a := &assets{files: map[string][]byte{}, version: map[string]string{}}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		a.files[e.Name()] = b
		a.version[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return a
}

// URL is the versioned address of static file name.
func (a *assets) URL(name string) string {
	return assetPrefix + "/" + a.version[name] + "/" + name
}

// asset serves a static file; the version in its URL must be the current
// one (an old version would be cached forever as the new file).
func (d *Dashboard) asset(c *gin.Context) {
	name := c.Param("file")
	b, ok := d.assets.files[name]
	if !ok || d.assets.version[name] != c.Param("version") {
		d.notFound(c)
		return
	}
	ctype := "application/octet-stream"
	switch path.Ext(name) {
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	}
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, ctype, b)
}

// pages are the parsed templates, one set per page: the layout, the
// shared partials, and the page's own file.
type pages map[string]*template.Template

func parsePages(a *assets) pages {
	funcs := template.FuncMap{
		"asset": a.URL,
		"fieldErr": func(errors map[string][]string, field string) string {
			return strings.Join(errors[field], "; ")
		},
	}
	out := pages{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		out[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}

// view is what the layout renders around a page.
type view struct {
	Title   string
	CSRF    string
	Field   string // the CSRF token's form field
	Account tenant.AccountID
	Email   string
	// Unverified: the account's email is not verified yet (a banner asks).
	Unverified bool
	Stores     []tenant.Member        // the switcher
	roleNames  map[tenant.Role]string // custom roles' names, for RoleName
	Member     *Member                // on a store page
	Menu       []menuItem
	Path       string
	Data       any
}

// RoleName is the name of m's role as the switcher shows it: a custom
// role's own name rather than its id.
func (v view) RoleName(m tenant.Member) string {
	if n, ok := v.roleNames[m.Role]; ok {
		return n
	}
	return string(m.Role)
}

// render writes page with data, inside the layout, with status.
func (d *Dashboard) render(c *gin.Context, status int, page, title string, data any) {
	v, err := d.view(c, title, data)
	if err != nil {
		d.internal(c, err)
		return
	}
	var buf bytes.Buffer
	if err := d.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		d.internal(c, err)
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fragment writes one template of page (an htmx swap), without the layout.
func (d *Dashboard) fragment(c *gin.Context, page, name string, data any) {
	var buf bytes.Buffer
	if err := d.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		d.internal(c, err)
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// view gathers what every page shows: who is logged in, their stores, and
// on a store page the menu their role may use.
func (d *Dashboard) view(c *gin.Context, title string, data any) (view, error) {
	v := view{Title: title, CSRF: d.csrfToken(c), Field: csrfField, Account: accountOf(c), Path: c.Request.URL.Path, Data: data}
	if v.Account == 0 {
		return v, nil
	}
	ctx := c.Request.Context()
	acct, err := d.cfg.DB.Account(ctx, v.Account)
	if err != nil {
		return v, err
	}
	v.Email = acct.Email
	verified, err := d.cfg.DB.EmailVerified(ctx, v.Account)
	if err != nil {
		return v, err
	}
	v.Unverified = !verified
	if v.Stores, err = d.cfg.DB.StoresOf(ctx, v.Account); err != nil {
		return v, err
	}
	for _, s := range v.Stores {
		if s.Role.IsCustom() {
			if v.roleNames == nil {
				v.roleNames = map[tenant.Role]string{}
			}
			if v.roleNames[s.Role], err = d.cfg.DB.RoleLabel(ctx, s.Tenant, s.Role); err != nil {
				return v, err
			}
		}
	}
	if m, ok := c.Get(ctxMember); ok {
		mm := m.(Member)
		v.Member = &mm
		if v.Menu, err = d.menuFor(mm, v.Path); err != nil {
			return v, err
		}
	}
	return v, nil
}

// message is the error page's body.
type message struct {
	Text string
}

// fail writes an error page with status and stops the chain.
func (d *Dashboard) fail(c *gin.Context, status int, title, text string) {
	d.render(c, status, "error", title, message{Text: text})
	c.Abort()
}

// notFound is the dashboard's 404 page.
func (d *Dashboard) notFound(c *gin.Context) {
	d.fail(c, http.StatusNotFound, "Not found", "There is nothing at this address, or it is not yours to see. Check the link.")
}

// failErr writes err as a page with its kind's status; an internal error
// is logged once and shown only as "internal error".
func (d *Dashboard) failErr(c *gin.Context, err error) {
	switch k := errs.KindOf(err); k {
	case errs.Internal:
		d.internal(c, err)
	case errs.NotFound:
		d.notFound(c)
	default:
		d.fail(c, web.Status(k), "Something is not right", errs.MessageOf(err))
	}
}

// internal logs err and writes a plain page, without the layout (which may
// be what failed).
func (d *Dashboard) internal(c *gin.Context, err error) {
	d.cfg.Log.ErrorContext(c.Request.Context(), "dashboard", slog.Any("err", err), slog.String("request_id", web.RequestID(c.Request.Context())))
	c.Data(http.StatusInternalServerError, "text/html; charset=utf-8", []byte(`<!doctype html><html lang="en"><head><meta charset="utf-8">`+
		`<meta name="viewport" content="width=device-width,initial-scale=1"><title>Internal error</title></head>`+
		`<body style="font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem">`+
		`<h1>Internal error</h1><p>Something went wrong on our side. Please try again in a moment.</p></body></html>`))
	c.Abort()
}
