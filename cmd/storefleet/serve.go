package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/checkout"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/modules/fulfillment"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
)

func serveCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Serve the dashboard, storefronts and APIs over HTTP",
		Long: "Serve the dashboard (app.<domain>), every store (<slug>.<domain>) and the health endpoints " +
			"(/healthz, /readyz on any host). SIGTERM drains in-flight requests before exit.",
		Args: cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			return serve(ctx, d)
		}),
	}
}

// serve runs the HTTP server until ctx ends, then drains it.
func serve(ctx context.Context, d *deps) error {
	d.log.Info("starting", d.cfg.logValues()...)
	resolver := tenant.NewResolver(d.db, d.cfg.urls.Domain, d.cfg.TenantCacheTTL)
	access, err := d.db.Access()
	if err != nil {
		return err
	}
	runCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	go resolver.Run(runCtx, d.rdb)
	go access.Run(runCtx, d.cfg.AccessReload)

	srv := newServer(d, resolver)
	go d.db.WatchChanges(runCtx, tenant.StorefrontChanges, srv.front.Changed)
	ln, err := net.Listen("tcp", d.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	d.log.Info("listening", "addr", ln.Addr().String(), "dashboard", d.cfg.urls.Dashboard())
	return serveHTTP(ctx, d.log, &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Requests outlive the signal that starts the drain: their contexts
		// must not be cancelled with it.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}, ln, d.cfg.ShutdownTimeout, srv.drain)
}

// serveHTTP serves on ln until ctx ends, then calls onDrain, stops accepting
// connections and waits up to timeout for in-flight requests to finish.
func serveHTTP(ctx context.Context, log *slog.Logger, srv *http.Server, ln net.Listener, timeout time.Duration, onDrain func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	onDrain()
	log.Info("draining in-flight requests", "timeout", timeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// server routes each request by its host: health endpoints on any host, the
// dashboard on app.<domain>, a store on its own subdomain, 404 elsewhere.
type server struct {
	log       *slog.Logger
	db        *tenant.DB
	rdb       *redis.Client
	resolver  *tenant.Resolver
	dashboard http.Handler
	store     http.Handler
	front     *storefront.Handler
	draining  atomic.Bool
	handler   http.Handler
}

func newServer(d *deps, resolver *tenant.Resolver) *server {
	log, db, urls := d.log, d.db, d.cfg.urls
	s := &server{log: log, db: db, rdb: d.rdb, resolver: resolver}

	// A store's host: the Admin API behind its gate, the storefront for the rest.
	store := gin.New()
	gate := apps.NewGate(db, ratelimit.New(d.rdb), db.APILimit, d.sessions, log)
	cat := d.catalog()
	front := storefront.New(db, cat, d.storefrontConfig(), log)
	pay := d.billing()
	gate.Mount(store, shop.NewService(db, urls), cat, inventory.NewService(db), customers.NewService(db), d.webhooks(),
		front.Admin(d.fetchClient()), storefront.NewPages(db), storefront.NewRedirects(db), storefront.NewMenus(db), orders.NewService(db), discounts.NewService(db), shipping.NewService(db),
		backupsAPI{d.backups()}, fulfillment.NewService(db), notifications.NewService(db, urls))
	front.Routes(store)
	checkout.NewService(db, pay, front.Shopper, log).Routes(store)
	s.front = front
	store.NoRoute(func(c *gin.Context) {
		if c.Request.URL.Path == "/admin" || strings.HasPrefix(c.Request.URL.Path, "/admin/") {
			c.JSON(http.StatusNotFound, gin.H{"errors": "Not Found"})
			return
		}
		front.NotFound(c)
	})
	s.store = store

	dash := gin.New()
	tenant.NewControlAPI(db, urls, log).Routes(dash)
	dash.POST("/webhooks/stripe", gin.WrapH(pay.Webhook()))
	board := d.dashboard(front.Admin(d.fetchClient()))
	board.Routes(dash)
	if queues, err := d.opsQueues(); err != nil {
		log.Error("operator console not mounted", "err", err)
	} else {
		board.Operator(dash, opsQueuesPath, queues, db.IsOperator)
	}
	if dir := d.devMailDir(); dir != "" {
		devMailRoutes(dash, dir)
	}
	dash.NoRoute(func(c *gin.Context) { s.notFound(c.Writer, c.Request) })
	s.dashboard = dash
	s.handler = web.Middleware(log, http.HandlerFunc(s.route))
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// drain makes /readyz fail, so load balancers stop sending new requests.
func (s *server) drain() { s.draining.Store(true) }

func (s *server) route(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		web.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	case "/readyz":
		s.ready(w, r)
		return
	}
	kind, slug := s.resolver.Kind(r.Host)
	switch kind {
	case tenant.HostDashboard:
		s.dashboard.ServeHTTP(w, r)
	case tenant.HostStore:
		t, err := s.resolver.Store(r.Context(), slug)
		switch {
		case errors.Is(err, tenant.ErrSuspended):
			web.AddLogAttrs(r.Context(), slog.Int64("tenant", int64(t.ID)))
			s.suspended(w, r, t)
		case errs.Is(err, errs.NotFound):
			s.notFound(w, r)
		case err != nil:
			web.WriteError(w, r, s.log, err)
		default:
			web.AddLogAttrs(r.Context(), slog.Int64("tenant", int64(t.ID)))
			s.store.ServeHTTP(w, r.WithContext(tenant.NewContext(r.Context(), t)))
		}
	default:
		s.notFound(w, r)
	}
}

// ready reports whether this process can serve: PostgreSQL and Redis answer
// and it is not draining.
func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := s.db.Ping(ctx); err != nil {
		checks["postgres"], status = "unreachable", http.StatusServiceUnavailable
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		checks["redis"], status = "unreachable", http.StatusServiceUnavailable
	}
	if s.draining.Load() {
		checks["server"], status = "draining", http.StatusServiceUnavailable
	}
	web.WriteJSON(w, status, checks)
}

// wantsJSON reports whether the client should get a JSON error rather than a
// page: API paths and clients that ask for JSON and not HTML.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.HasPrefix(r.URL.Path, "/admin/api/") || strings.HasPrefix(r.URL.Path, "/api/") ||
		strings.HasSuffix(r.URL.Path, ".json") || strings.HasSuffix(r.URL.Path, ".js") ||
		(strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html"))
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		web.WriteJSON(w, http.StatusNotFound, map[string]string{"errors": "Not Found"})
		return
	}
	writePage(w, http.StatusNotFound, "Not found", "There is no store or page at this address. Check the link, or the spelling of the store's name.")
}

func (s *server) suspended(w http.ResponseWriter, r *http.Request, t *tenant.Tenant) {
	if wantsJSON(r) {
		web.WriteJSON(w, http.StatusForbidden, map[string]string{"errors": "This store is suspended."})
		return
	}
	writePage(w, http.StatusForbidden, t.Name+" is unavailable", t.Name+" is not open at the moment. Please come back later.")
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><main><h1>{{.Title}}</h1><p>{{.Text}}</p></main></body></html>
`))

func writePage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	page.Execute(w, struct{ Title, Text string }{title, text})
}
