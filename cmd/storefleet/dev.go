package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/tenant"
)

// The demo store `storefleet dev` makes. The password is printed: it guards
// nothing but a local demo.
const (
	demoSlug     = "demo"
	demoName     = "Demo Store"
	demoEmail    = "owner@demo.localhost"
	demoPassword = "demo-owner-Storefleet-2026"
)

func devCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "dev",
		Short: "Migrate, make sure the demo store exists, and serve and work: everything against local services",
		Long: "Run the platform on a developer's machine: apply every migration, create the demo store and its " +
			"owner if they do not exist yet, print where to reach them, and serve, with a worker in the same " +
			"process. `make run` starts the local services and runs this.",
		Args: cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			if err := migrateAll(ctx, d, stdout, stderr); err != nil {
				return err
			}
			if err := ensureDemo(ctx, d, stdout, stderr); err != nil {
				return fmt.Errorf("demo store: %w", err)
			}
			fmt.Fprintf(stdout, "\nStorefleet is running.\n  Dashboard:  %s\n  Demo store: %s\n  Demo login: %s / %s\n",
				d.cfg.urls.Dashboard(), d.cfg.urls.Store(demoSlug), demoEmail, demoPassword)
			if d.devMailDir() != "" {
				fmt.Fprintf(stdout, "  Mail:       %s/dev/mail\n", d.cfg.urls.Dashboard())
			}
			fmt.Fprintln(stdout)
			// The worker stops with the server (on SIGTERM, or when serving fails).
			fleet, err := d.fleet()
			if err != nil {
				return err
			}
			wctx, stop := context.WithCancel(ctx)
			worked := make(chan error, 1)
			go func() { worked <- fleet.Run(wctx) }()
			err = serve(ctx, d)
			stop()
			return errors.Join(err, <-worked)
		}),
	}
}

// demoProducts is the demo store's catalog, in Shopify's product CSV.
//
//go:embed demo_products.csv
var demoProducts []byte

// ensureDemo creates the demo store and its owner unless they exist, and
// gives the store the demo catalog while it has no products.
func ensureDemo(ctx context.Context, d *deps, stdout, stderr io.Writer) error {
	t, err := d.db.TenantBySlug(ctx, demoSlug)
	if errs.Is(err, errs.NotFound) {
		t, err = createStore(ctx, d.db, demoEmail, demoPassword, tenant.NewStore{Slug: demoSlug, Name: demoName, Email: demoEmail})
	}
	if err != nil {
		return err
	}
	// The demo's address takes no mail worth verifying: no banner asking.
	owner, err := d.db.AccountByEmail(ctx, demoEmail)
	if err != nil {
		return err
	}
	if err := d.db.MarkEmailVerified(ctx, owner.ID); err != nil {
		return err
	}
	if err := ensureDemoCheckout(ctx, d, t); err != nil {
		return err
	}
	svc := d.catalog()
	n, err := svc.CountProducts(ctx, t, catalog.Query{})
	if err != nil || n > 0 {
		return err
	}
	if err := importProducts(ctx, svc, t, bytes.NewReader(demoProducts), false, stdout, stderr); err != nil {
		return err
	}
	if err := drawDemoPictures(ctx, svc, t, stderr); err != nil {
		return err
	}
	return makeDemoCollections(ctx, svc, t)
}

// ensureDemoCheckout gives the demo store, while it has no shipping zones,
// what a shopper meets at checkout: shipping in the United States (free
// from 50.00) and to the rest of the world, and a welcome code, WELCOME10.
func ensureDemoCheckout(ctx context.Context, d *deps, t *tenant.Tenant) error {
	ship := shipping.NewService(d.db)
	zones, err := ship.Zones(ctx, t)
	if err != nil || len(zones) > 0 {
		return err
	}
	under, from := "49.99", "50.00"
	for _, z := range []shipping.ZoneInput{
		{Name: "United States", Countries: []shipping.ZoneCountryInput{{Code: "US"}}, PriceRates: []shipping.PriceRateInput{
			{Name: "Standard (3–5 business days)", Price: "5.00", MaxSubtotal: &under},
			{Name: "Free standard shipping", Price: "0", MinSubtotal: &from},
			{Name: "Express (1–2 business days)", Price: "15.00"}}},
		{Name: "Rest of world", Countries: []shipping.ZoneCountryInput{{Code: shipping.RestOfWorld}}, PriceRates: []shipping.PriceRateInput{
			{Name: "International", Price: "20.00"}}},
	} {
		if _, err := ship.CreateZone(ctx, t, z); err != nil {
			return fmt.Errorf("demo shipping zone %s: %w", z.Name, err)
		}
	}
	ds := discounts.NewService(d.db)
	title, kind, value, target, sel, alloc, who := "Welcome: 10% off", "percentage", "-10.0", "line_item", "all", "across", "all"
	start := time.Now().Add(-time.Hour)
	rule, err := ds.CreatePriceRule(ctx, t, discounts.PriceRuleInput{Title: &title, ValueType: &kind, Value: &value, TargetType: &target,
		TargetSelection: &sel, AllocationMethod: &alloc, CustomerSelection: &who, StartsAt: &start})
	if err != nil {
		return fmt.Errorf("demo discount: %w", err)
	}
	code := "WELCOME10"
	if _, err := ds.CreateCode(ctx, t, rule.ID, &code); err != nil {
		return fmt.Errorf("demo discount code: %w", err)
	}
	return nil
}

// demoCollections group the demo catalog for the storefront: by kind, and
// a front page selection the home page features.
var demoCollections = []struct {
	title, handle, body string
	types               []string
}{
	{"Featured", "frontpage", "<p>What we are drinking this season.</p>", nil},
	{"Green tea", "green-tea", "<p>Steamed and pan-fired, from Japan and China.</p>", []string{"Green", "Matcha"}},
	{"Oolong", "oolong", "<p>Rolled, roasted and twisted: the wide middle between green and black.</p>", []string{"Oolong", "Roasted"}},
	{"Black tea", "black-tea", "<p>Malty, brisk and smooth.</p>", []string{"Black"}},
	{"White and herbal", "white-and-herbal", "<p>Gentle teas and caffeine-free infusions.</p>", []string{"White", "Herbal"}},
	{"Teaware", "teaware", "<p>Pots, cups and tools for brewing well.</p>", []string{"Teaware", "Accessory", "Gift"}},
}

// makeDemoCollections creates the demo collections; the front page gets
// one product of each kind.
func makeDemoCollections(ctx context.Context, svc *catalog.Service, t *tenant.Tenant) error {
	ps, _, err := svc.Products(ctx, t, catalog.Query{Limit: 250})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, c := range demoCollections {
		var ids []int64
		for _, p := range ps {
			switch {
			case c.types == nil && !seen[p.ProductType] && len(ids) < 8:
				seen[p.ProductType] = true
				ids = append(ids, p.ID)
			case slices.Contains(c.types, p.ProductType):
				ids = append(ids, p.ID)
			}
		}
		title, handle, body, published := c.title, c.handle, c.body, true
		in := catalog.CollectionInput{Title: &title, Handle: &handle, BodyHTML: &body, Published: &published, Products: ids}
		if _, err := svc.CreateCollection(ctx, t, in); err != nil {
			return fmt.Errorf("demo collection %s: %w", c.handle, err)
		}
	}
	return nil
}

// drawDemoPictures gives each of the demo store's products without images
// two drawn pictures: its packaging, and a close view.
func drawDemoPictures(ctx context.Context, svc *catalog.Service, t *tenant.Tenant, stderr io.Writer) error {
	ps, _, err := svc.Products(ctx, t, catalog.Query{Limit: 250})
	if err != nil {
		return err
	}
	show := progressReporter(stderr, "drawing product pictures")
	for i, p := range ps {
		if len(p.Images) == 0 {
			pics, err := productArt(p.Title, p.Vendor, p.ProductType, p.Handle)
			if err != nil {
				return err
			}
			for k, alt := range []string{p.Title, p.Title + ", close up"} {
				if _, err := svc.CreateImage(ctx, t, p.ID, catalog.ImageInput{Attachment: pics[k], Alt: &alt}); err != nil {
					return fmt.Errorf("picture of %s: %w", p.Handle, err)
				}
			}
		}
		show(tenant.Progress{Total: len(ps), Done: i + 1})
	}
	return nil
}
