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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
)

// The bench's baseline: the least a Go server can do to serve a product
// page from the same database — plain net/http, a pgx pool, html/template,
// one query for one product row. No framework, no tenancy: no host
// resolution through a cache, no transaction bound to a store's role, no
// theme. The store's schema is found in a map loaded once at start. The
// platform's req/s are printed as a ratio of this server's.

func benchBaselineCmd(getenv func(string) string, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    "baseline-server",
		Short:  "Serve product pages the bare way, for the bench's baseline (started by storefleet bench)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(getenv)
			if err != nil {
				return err
			}
			return serveBaseline(cmd.Context(), cfg, newLogger(cfg, stderr))
		},
	}
}

// serveBaseline serves GET /products/<handle> on every store's host until
// ctx ends.
func serveBaseline(ctx context.Context, cfg config, log *slog.Logger) error {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	pc.MaxConns = int32(cfg.DatabaseConns)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("baseline database: %w", err)
	}
	defer pool.Close()

	// One statement per store, naming its schema: the one query each page takes.
	queries := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT slug, schema_name FROM platform.tenants`)
	if err != nil {
		return fmt.Errorf("baseline stores: %w", err)
	}
	for rows.Next() {
		var slug, schema string
		if err := rows.Scan(&slug, &schema); err != nil {
			return fmt.Errorf("baseline stores: %w", err)
		}
		s := pgx.Identifier{schema}.Sanitize()
		queries[slug] = `SELECT p.title, p.body_html, p.vendor,
			coalesce((SELECT min(v.price) FROM ` + s + `.variants v WHERE v.product_id = p.id), 0)
			FROM ` + s + `.products p WHERE p.handle = $1`
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("baseline stores: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /products/{handle}", func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		slug, _, _ := strings.Cut(host, ".")
		q, ok := queries[slug]
		if !ok {
			http.NotFound(w, r)
			return
		}
		var p baselineProduct
		err := pool.QueryRow(r.Context(), q, r.PathValue("handle")).Scan(&p.Title, &p.Body, &p.Vendor, &p.Cents)
		if errors.Is(err, pgx.ErrNoRows) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			log.ErrorContext(r.Context(), "baseline query", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		baselinePage.Execute(w, p)
	})

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Info("baseline listening", "addr", ln.Addr().String(), "stores", len(queries))
	return serveHTTP(ctx, log, srv, ln, cfg.ShutdownTimeout, func() {})
}

type baselineProduct struct {
	Title, Body, Vendor string
	Cents               int64
}

// Price is the lowest variant price, in dollars.
func (p baselineProduct) Price() string { return fmt.Sprintf("%d.%02d", p.Cents/100, p.Cents%100) }

// HTML is the product's description, which the merchant writes as HTML.
func (p baselineProduct) HTML() template.HTML { return template.HTML(p.Body) }

var baselinePage = template.Must(template.New("product").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1><p>{{.Vendor}}</p><p>${{.Price}}</p>{{.HTML}}</main></body></html>
`))
