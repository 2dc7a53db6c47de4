package tenant

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/web"
)

// URLs builds the public addresses of the fleet from its base URL, for
// example http://localhost:8080: stores at http://<slug>.localhost:8080, the
// dashboard at http://app.localhost:8080.
type URLs struct {
	Scheme string // http or https
	Domain string // the base domain, lower case, no port
	Port   string // empty for the scheme's default
}

// ParseBaseURL parses the fleet's base URL.
func ParseBaseURL(s string) (URLs, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
		return URLs{}, errs.E(errs.Invalid, "%q is not a base URL like https://storefleet.example or http://localhost:8080", s)
	}
	return URLs{Scheme: u.Scheme, Domain: strings.ToLower(u.Hostname()), Port: u.Port()}, nil
}

func (u URLs) host(sub string) string {
	h := u.Domain
	if sub != "" {
		h = sub + "." + h
	}
	if u.Port != "" {
		h += ":" + u.Port
	}
	return u.Scheme + "://" + h
}

// Store is the storefront URL of slug.
func (u URLs) Store(slug string) string { return u.host(slug) }

// Dashboard is the merchant dashboard's URL.
func (u URLs) Dashboard() string { return u.host("app") }

// ControlAPI is the control plane's JSON API on the dashboard host.
type ControlAPI struct {
	db   *DB
	urls URLs
	log  *slog.Logger
}

// NewControlAPI returns the control API over db.
func NewControlAPI(db *DB, urls URLs, log *slog.Logger) *ControlAPI {
	return &ControlAPI{db: db, urls: urls, log: log}
}

// Routes mounts the API's routes on r.
func (a *ControlAPI) Routes(r gin.IRouter) {
	r.POST("/api/signup", a.handle(a.signup))
	r.GET("/api/slugs/:slug", a.handle(a.slugAvailable))
}

// handle adapts a handler that returns an error to gin: the error is written
// as JSON with its kind's status, and nothing else sees it.
func (a *ControlAPI) handle(h func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			web.WriteError(c.Writer, c.Request, a.log, err)
		}
	}
}

type signupRequest struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	Name      string `json:"name"`
	StoreName string `json:"store_name"`
	Slug      string `json:"slug"`
}

type accountJSON struct {
	ID    AccountID `json:"id"`
	Email string    `json:"email"`
	Name  string    `json:"name"`
}

type storeJSON struct {
	ID        ID     `json:"id"`
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	Status    Status `json:"status"`
	URL       string `json:"url"`
	Dashboard string `json:"dashboard_url"`
}

func (a *ControlAPI) toStoreJSON(t *Tenant) storeJSON {
	return storeJSON{ID: t.ID, Slug: t.Slug, Name: t.Name, Status: t.Status, URL: a.urls.Store(t.Slug), Dashboard: a.urls.Dashboard()}
}

// signup creates an account and its first store.
func (a *ControlAPI) signup(c *gin.Context) error {
	var req signupRequest
	if err := web.DecodeJSON(c.Writer, c.Request, &req); err != nil {
		return err
	}
	acct, t, err := a.db.SignUp(c.Request.Context(), Signup{
		Email: req.Email, Password: req.Password, Name: req.Name, StoreName: req.StoreName, Slug: req.Slug, Dashboard: a.urls.Dashboard(),
	})
	if err != nil {
		return err
	}
	web.AddLogAttrs(c.Request.Context(), slog.Int64("tenant", int64(t.ID)), slog.Int64("account", int64(acct.ID)))
	c.JSON(http.StatusCreated, gin.H{
		"account": accountJSON{ID: acct.ID, Email: acct.Email, Name: acct.Name},
		"store":   a.toStoreJSON(t),
	})
	return nil
}

// slugAvailable says whether a slug can be had, and why not, for the
// sign-up form's live check.
func (a *ControlAPI) slugAvailable(c *gin.Context) error {
	slug := c.Param("slug")
	reason, err := a.db.SlugProblem(c.Request.Context(), slug)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"slug": slug, "available": reason == "", "reason": reason})
	return nil
}

// SlugProblem says why slug cannot be had (invalid, reserved or taken), or
// returns "" when it is free.
func (d *DB) SlugProblem(ctx context.Context, slug string) (string, error) {
	if err := ValidateSlug(slug); err != nil {
		return errs.MessageOf(err), nil
	}
	_, err := d.TenantBySlug(ctx, slug)
	switch {
	case err == nil:
		return "is already taken", nil
	case errs.Is(err, errs.NotFound):
		return "", nil
	}
	return "", err
}
