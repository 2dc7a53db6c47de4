// Package apps is how partners' apps reach a store: the Admin API's gate
// (token authentication, fleet-wide rate limits, scope checks through the
// access policy) and the router every module mounts its Admin API resources
// on, at /admin/api/<version>/… and the unversioned /admin/… alias that
// Shopify's client libraries use.
package apps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenant"
)

// Versions are the Admin API versions served; the unversioned alias serves
// the newest.
var Versions = []string{"2025-01"}

// Headers a token may arrive in: Shopify's, so existing clients work, and our
// own.
const (
	ShopifyTokenHeader = "X-Shopify-Access-Token"
	TokenHeader        = "X-Storefleet-Access-Token"
	CallLimitHeader    = "X-Shopify-Shop-Api-Call-Limit"
)

// Gate admits Admin API requests: from apps, by their access tokens, and
// from staff, by their session tokens (Authorization: Bearer), checked
// against the same access policy.
type Gate struct {
	db       *tenant.DB
	limiter  *ratelimit.Limiter
	limits   Limits
	sessions *auth.Sessions
	log      *slog.Logger
}

// Limits says how big a store's buckets are; in production, by its plan
// (tenant.DB.APILimit).
type Limits func(ctx context.Context, t *tenant.Tenant) (ratelimit.Bucket, error)

// Fixed gives every store the same bucket, for tests.
func Fixed(b ratelimit.Bucket) Limits {
	return func(context.Context, *tenant.Tenant) (ratelimit.Bucket, error) { return b, nil }
}

// NewGate returns a gate that limits each caller of each store to the
// bucket limits gives the store, and admits staff with sessions that
// sessions signed (nil: app tokens only).
func NewGate(db *tenant.DB, limiter *ratelimit.Limiter, limits Limits, sessions *auth.Sessions, log *slog.Logger) *Gate {
	return &Gate{db: db, limiter: limiter, limits: limits, sessions: sessions, log: log}
}

// Resource is a module's Admin API surface: it mounts its routes on r,
// guarding each with g.Require.
type Resource interface {
	AdminRoutes(r gin.IRouter, g *Gate)
}

// Mount serves resources on the store engine at every version's prefix and
// at the unversioned alias, behind the gate, and the OpenAPI document at
// /admin/api/openapi.json.
func (g *Gate) Mount(engine gin.IRouter, resources ...Resource) {
	engine.GET("/admin/api/openapi.json", g.serveOpenAPI) // public, like API docs
	prefixes := []string{"/admin"}
	for _, v := range Versions {
		prefixes = append(prefixes, "/admin/api/"+v)
	}
	for _, p := range prefixes {
		grp := engine.Group(p, g.content, g.authenticate, g.limit, g.idempotent)
		for _, res := range resources {
			res.AdminRoutes(grp, g)
		}
	}
}

// Handle adapts a handler that returns an error: the error is written in
// Shopify's shape with its kind's status, and logged once if it is ours.
func (g *Gate) Handle(h func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			Abort(c, g.log, err)
		}
	}
}

// Abort writes err as the Admin API writes errors and stops the chain.
func Abort(c *gin.Context, log *slog.Logger, err error) {
	if errs.KindOf(err) == errs.NotFound {
		// Shopify's 404 body is always the same, whatever was not found.
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"errors": "Not Found"})
		return
	}
	web.WriteError(c.Writer, c.Request, log, err)
	c.Abort()
}

// Principal is who is calling: an app, by its token, or a member of the
// store's staff, by a session.
type Principal struct {
	Store   *tenant.Tenant
	Token   tenant.Token     // an app's token; zero for staff
	Account tenant.AccountID // a staff member's account; zero for an app
	Role    tenant.Role      // the staff member's role
}

// Subject is the caller as the access policy names it.
func (p Principal) Subject() string {
	if p.Account != 0 {
		return rbac.Account(int64(p.Account))
	}
	return p.Token.Subject()
}

const principalKey = "storefleet.principal"

// PrincipalOf returns the caller the gate admitted.
func PrincipalOf(c *gin.Context) Principal {
	p, _ := c.Get(principalKey)
	return p.(Principal)
}

// content refuses bodies that are not JSON (415) and clients that will not
// take JSON (406).
func (g *Gate) content(c *gin.Context) {
	if q := c.Request.URL.RawQuery; strings.Contains(q, "%00") || strings.ContainsRune(q, 0) {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": "query parameters must not contain NUL (%00) characters"})
		return
	}
	if accept := c.GetHeader("Accept"); accept != "" && !acceptsJSON(accept) {
		c.AbortWithStatusJSON(http.StatusNotAcceptable, gin.H{"errors": "this API answers only in JSON: accept application/json"})
		return
	}
	if c.Request.ContentLength != 0 && c.Request.Method != http.MethodGet && c.Request.Method != http.MethodDelete {
		mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if err != nil || mt != "application/json" {
			c.AbortWithStatusJSON(http.StatusUnsupportedMediaType, gin.H{"errors": "send the request body as JSON, with Content-Type: application/json"})
			return
		}
	}
}

func acceptsJSON(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json", "application/*", "*/*":
			return true
		}
	}
	return false
}

// authenticate admits a request that carries a live token of this store,
// or the session of a member of its staff.
func (g *Gate) authenticate(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	secret := c.GetHeader(ShopifyTokenHeader)
	if secret == "" {
		secret = c.GetHeader(TokenHeader)
	}
	if bearer, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok && secret == "" && g.sessions != nil {
		g.admitStaff(c, t, strings.TrimSpace(bearer))
		return
	}
	tok, err := g.db.Authenticate(c.Request.Context(), t, secret)
	if err != nil {
		Abort(c, g.log, err)
		return
	}
	web.AddLogAttrs(c.Request.Context(), slog.Int64("token", tok.ID))
	c.Set(principalKey, Principal{Store: t, Token: tok})
}

// admitStaff admits a request with a staff session of an account that is a
// member of store t.
func (g *Gate) admitStaff(c *gin.Context, t *tenant.Tenant, token string) {
	sess, err := g.sessions.Check(token)
	if err != nil {
		Abort(c, g.log, err)
		return
	}
	account := tenant.AccountID(sess.Account)
	role, err := g.db.RoleIn(c.Request.Context(), account, t)
	if err != nil {
		Abort(c, g.log, err)
		return
	}
	web.AddLogAttrs(c.Request.Context(), slog.Int64("account", sess.Account))
	c.Set(principalKey, Principal{Store: t, Account: account, Role: role})
}

// limit pours the request into the token's bucket, fleet-wide, and reports
// the bucket's level on every response.
func (g *Gate) limit(c *gin.Context) {
	p := PrincipalOf(c)
	bucket, err := g.limits(c.Request.Context(), p.Store)
	if err != nil {
		Abort(c, g.log, err)
		return
	}
	res, err := g.limiter.Take(c.Request.Context(), fmt.Sprintf("admin:%d:%s", p.Store.ID, p.Subject()), bucket)
	if err != nil {
		// Redis is down: serve rather than fail every partner's call.
		g.log.WarnContext(c.Request.Context(), "rate limit unavailable; letting the request through", "err", err)
		return
	}
	c.Header(CallLimitHeader, fmt.Sprintf("%d/%d", res.Used(), res.Capacity))
	if !res.Allowed {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(res.RetryAfter.Seconds()))))
		c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"errors": fmt.Sprintf(
			"Exceeded %g calls per second for api client. Reduce request rates to resume uninterrupted service.", bucket.Leak)})
	}
}

// Require lets a request through only if its caller may do act on obj
// (rbac.Read or rbac.Write on "products", "orders", …).
func (g *Gate) Require(obj, act string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := g.Check(c, obj, act); err != nil {
			Abort(c, g.log, err)
		}
	}
}

// Check says whether the caller may do act on obj: nil, or a Forbidden error
// naming the scope it lacks.
func (g *Gate) Check(c *gin.Context, obj, act string) error {
	p := PrincipalOf(c)
	access, err := g.db.Access()
	if err != nil {
		return err
	}
	ok, err := access.Allowed(p.Subject(), rbac.Store(int64(p.Store.ID)), obj, act)
	if err != nil {
		return err
	}
	switch {
	case !ok && p.Account != 0:
		return errs.E(errs.Forbidden, "your role in this store (%s) may not %s %s", p.Role, act, obj)
	case !ok:
		return errs.E(errs.Forbidden, "[API] This action requires merchant approval for %s_%s scope.", act, obj)
	}
	return nil
}

// DecodeEnvelope reads {"<key>": {...}} into v. Fields we do not have are
// ignored, as Shopify ignores them, so that existing clients keep working.
//
// Errors: Malformed (not JSON, not the envelope, NUL characters), Invalid
// (a field of the wrong type, named).
func DecodeEnvelope(c *gin.Context, key string, v any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return errs.E(errs.Malformed, "request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	inner, ok := env[key]
	if !ok || bytes.Equal(bytes.TrimSpace(inner), []byte("null")) {
		return errs.E(errs.Malformed, "request body must be {\"%s\": {...}}", key)
	}
	if len(bytes.TrimSpace(inner)) == 0 || bytes.TrimSpace(inner)[0] != '{' {
		return errs.E(errs.Malformed, "%s must be a JSON object", key)
	}
	return unmarshalFields(inner, v)
}

// DecodeObject reads a bare JSON object body into v, for the endpoints that
// take one (inventory_levels/set.json and friends), with DecodeEnvelope's
// rules.
func DecodeObject(c *gin.Context, v any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return errs.E(errs.Malformed, "request body must be a JSON object")
	}
	return unmarshalFields(body, v)
}

// readBody reads a write's body: at most 2 MiB, and no NUL characters
// (PostgreSQL text cannot hold them).
func readBody(c *gin.Context) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, 2<<20))
	if err != nil {
		return nil, errs.E(errs.Malformed, "request body is larger than 2 MiB")
	}
	if bytes.Contains(body, []byte(`\u0000`)) {
		return nil, errs.E(errs.Malformed, "request body must not contain NUL (\\u0000) characters")
	}
	return body, nil
}

// unmarshalFields decodes a JSON object into v, naming a field of the wrong
// type.
func unmarshalFields(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return &errs.Error{Kind: errs.Invalid, Message: te.Field + " has the wrong type",
				Fields: map[string][]string{te.Field: {"has the wrong type (got " + te.Value + ")"}}}
		}
		return errs.E(errs.Malformed, "request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
