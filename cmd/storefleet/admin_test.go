package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenant"
)

// mintToken runs `storefleet tenant token` and returns what it printed.
func mintToken(t *testing.T, dbURL, slug, scopes string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), envFor(dbURL), []string{"tenant", "token", slug, "--scopes", scopes}, &out, &errOut); err != nil {
		t.Fatalf("storefleet tenant token %s = %v (%s)", slug, err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "sfat_") {
		t.Fatalf("storefleet tenant token printed %q, want the token alone", out.String())
	}
	return lines[0]
}

func TestAdminAPIShopAndIsolation(t *testing.T) {
	url := testenv.Database(t)
	s := startServer(t, url)
	ctx := context.Background()
	for _, slug := range []string{"alpha-tea", "beta-tea"} {
		if _, err := s.deps.db.Provision(ctx, tenant.NewStore{Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:], Email: "hi@" + slug + ".example"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	alpha := mintToken(t, url, "alpha-tea", "read_products")
	beta := mintToken(t, url, "beta-tea", "read_products,write_orders")

	for _, path := range []string{"/admin/api/2025-01/shop.json", "/admin/shop.json"} {
		r := s.do(t, "GET", "alpha-tea.localhost", path, "", "X-Shopify-Access-Token", alpha)
		if r.status != 200 {
			t.Fatalf("GET %s = %d %s, want 200", path, r.status, r.body)
		}
		shop := decode(t, r.body)["shop"].(map[string]any)
		if shop["name"] != "Alpha-tea" || shop["email"] != "hi@alpha-tea.example" || shop["domain"] != "alpha-tea.localhost" || shop["currency"] != "USD" {
			t.Errorf("GET %s shop = %v, want alpha-tea's", path, shop)
		}
		if got := r.header.Get("X-Shopify-Shop-Api-Call-Limit"); !strings.HasSuffix(got, "/40") {
			t.Errorf("GET %s call limit header = %q, want n/40", path, got)
		}
	}

	// Cross-tenant: a store's token never opens another store.
	for _, tc := range []struct {
		name, host, token string
	}{
		{"alpha's token on beta's host", "beta-tea.localhost", alpha},
		{"beta's token on alpha's host", "alpha-tea.localhost", beta},
		{"no token", "alpha-tea.localhost", ""},
		{"a made-up token", "alpha-tea.localhost", "sfat_" + strings.Repeat("0", 64)},
	} {
		r := s.do(t, "GET", tc.host, "/admin/api/2025-01/shop.json", "", "X-Shopify-Access-Token", tc.token)
		if r.status != 401 || strings.Contains(r.body, "Alpha") || strings.Contains(r.body, "Beta") {
			t.Errorf("%s: GET shop.json = %d %s, want 401 and no store data", tc.name, r.status, r.body)
		}
	}

	// Unknown Admin API paths are Shopify's JSON 404, not the storefront.
	if r := s.do(t, "GET", "alpha-tea.localhost", "/admin/api/2025-01/nothing.json", "", "X-Shopify-Access-Token", alpha); r.status != 404 || !strings.Contains(r.body, `"Not Found"`) {
		t.Errorf("GET unknown admin path = %d %s, want 404 {\"errors\":\"Not Found\"}", r.status, r.body)
	}

	// A suspended store's API refuses even its own tokens.
	st, _ := s.deps.db.TenantBySlug(ctx, "alpha-tea")
	if _, err := s.deps.db.SetStatus(ctx, st.ID, tenant.Suspended); err != nil {
		t.Fatal(err)
	}
	waitFor := func() int {
		for range 100 {
			r := s.do(t, "GET", "alpha-tea.localhost", "/admin/api/2025-01/shop.json", "", "X-Shopify-Access-Token", alpha)
			if r.status == 403 {
				return 403
			}
		}
		return 0
	}
	if got := waitFor(); got != 403 {
		t.Errorf("suspended store's shop.json with its own token: want 403")
	}

	// Revoked tokens stop at once.
	if _, err := s.deps.db.SetStatus(ctx, st.ID, tenant.Active); err != nil {
		t.Fatal(err)
	}
	bst, _ := s.deps.db.TenantBySlug(ctx, "beta-tea")
	toks, _ := s.deps.db.Tokens(ctx, bst)
	if err := s.deps.db.RevokeToken(ctx, bst, toks[0].ID); err != nil {
		t.Fatal(err)
	}
	if r := s.do(t, "GET", "beta-tea.localhost", "/admin/api/2025-01/shop.json", "", "X-Shopify-Access-Token", beta); r.status != 401 {
		t.Errorf("revoked token: GET shop.json = %d, want 401", r.status)
	}
}

func TestTokenCommandRefusesBadScopes(t *testing.T) {
	url := testenv.Database(t)
	var out bytes.Buffer
	if err := run(context.Background(), envFor(url), []string{"tenant", "create", "--name", "Scoped", "--slug", "scoped", "--owner", "s@scoped.example", "--password", "correct-Horse-battery-9"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := run(context.Background(), envFor(url), []string{"tenant", "token", "scoped", "--scopes", "read_products,delete_everything"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "delete_everything") || out.Len() != 0 {
		t.Errorf("tenant token with an unknown scope = %v, printed %q; want an error naming the scope and nothing printed", err, out.String())
	}
}

// TestPlanSetsTheRateLimit moves a store between plans with the CLI and
// watches its Admin API bucket follow: 40 on the trial plan, 400 on Plus.
func TestPlanSetsTheRateLimit(t *testing.T) {
	url := testenv.Database(t)
	s := startServer(t, url)
	ctx := context.Background()
	if _, err := s.deps.db.Provision(ctx, tenant.NewStore{Slug: "gamma-tea", Name: "Gamma"}, nil); err != nil {
		t.Fatal(err)
	}
	tok := mintToken(t, url, "gamma-tea", "read_products")
	get := func() response {
		return s.do(t, "GET", "gamma-tea.localhost", "/admin/api/2025-01/shop.json", "", "X-Shopify-Access-Token", tok)
	}
	// The bucket holds 40 and leaks 2 a second, so on a busy machine a call
	// or two more than 40 may pass before the first 429.
	var last response
	ok := 0
	for range 60 {
		if last = get(); last.status != 200 {
			break
		}
		ok++
	}
	if ok < 40 || last.status != 429 || last.header.Get("Retry-After") == "" || !strings.HasSuffix(last.header.Get("X-Shopify-Shop-Api-Call-Limit"), "/40") {
		t.Fatalf("after %d calls on the trial plan: %d %v, want at least 40 calls through, then 429 with Retry-After and n/40", ok, last.status, last.header)
	}

	var out, errOut bytes.Buffer
	if err := run(ctx, envFor(url), []string{"tenant", "plan", "gamma-tea", "plus"}, &out, &errOut); err != nil {
		t.Fatalf("storefleet tenant plan gamma-tea plus = %v (%s)", err, errOut.String())
	}
	// The change reaches the server's cache through Redis.
	deadline := time.Now().Add(5 * time.Second)
	for last = get(); last.status != 200 && time.Now().Before(deadline); last = get() {
		time.Sleep(50 * time.Millisecond)
	}
	if last.status != 200 || !strings.HasSuffix(last.header.Get("X-Shopify-Shop-Api-Call-Limit"), "/400") {
		t.Errorf("call on the Plus plan = %d %v, want 200 and n/400", last.status, last.header)
	}

	if err := run(ctx, envFor(url), []string{"tenant", "plan", "gamma-tea", "platinum"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "plan not found") {
		t.Errorf("storefleet tenant plan gamma-tea platinum = %v, want plan not found", err)
	}
	out.Reset()
	if err := run(ctx, envFor(url), []string{"plan", "set", "wholesale", "--api-bucket", "120", "--api-leak", "6"}, &out, &errOut); err != nil {
		t.Fatalf("storefleet plan set wholesale = %v", err)
	}
	if err := run(ctx, envFor(url), []string{"plan", "set", "Bad Code", "--api-bucket", "0"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "api_bucket") {
		t.Errorf("storefleet plan set with a bad code and bucket = %v, want both named", err)
	}
	out.Reset()
	if err := run(ctx, envFor(url), []string{"plan", "list"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "wholesale") || !strings.Contains(out.String(), "400") {
		t.Errorf("storefleet plan list = %v\n%s, want trial … plus and wholesale", err, out.String())
	}
}

// TestTokensCanBeListedAndRevoked: storefleet tenant tokens lists a store's
// tokens without their secrets; revoke-token stops one at once.
func TestTokensCanBeListedAndRevoked(t *testing.T) {
	url := testenv.Database(t)
	s := startServer(t, url)
	ctx := context.Background()
	if _, err := s.deps.db.Provision(ctx, tenant.NewStore{Slug: "delta-tea", Name: "Delta"}, nil); err != nil {
		t.Fatal(err)
	}
	tok := mintToken(t, url, "delta-tea", "read_products")
	var out, errOut bytes.Buffer
	if err := run(ctx, envFor(url), []string{"tenant", "tokens", "delta-tea"}, &out, &errOut); err != nil {
		t.Fatalf("storefleet tenant tokens = %v (%s)", err, errOut.String())
	}
	if !strings.Contains(out.String(), "CLI token") || !strings.Contains(out.String(), "read_products") || strings.Contains(out.String(), tok) {
		t.Errorf("storefleet tenant tokens printed:\n%s\nwant the token listed without its secret", out.String())
	}
	shop := func() int {
		return s.do(t, "GET", "delta-tea.localhost", "/admin/api/2025-01/shop.json", "", "X-Shopify-Access-Token", tok).status
	}
	if got := shop(); got != 200 {
		t.Fatalf("shop.json before revoking = %d", got)
	}
	line := strings.Split(strings.TrimSpace(out.String()), "\n")[1]
	id := strings.Fields(line)[0]
	out.Reset()
	if err := run(ctx, envFor(url), []string{"tenant", "revoke-token", "delta-tea", id}, &out, &errOut); err != nil {
		t.Fatalf("storefleet tenant revoke-token = %v", err)
	}
	if got := shop(); got != 401 {
		t.Errorf("shop.json after revoking = %d, want 401", got)
	}
	if err := run(ctx, envFor(url), []string{"tenant", "revoke-token", "delta-tea", "999999"}, &out, &errOut); err == nil {
		t.Errorf("revoking a token the store does not have succeeded")
	}
}

// TestStripeConnectCommand prints an onboarding link for a store (against
// stripe-mock) and saves its connected account; without Stripe keys it
// says card payments are not set up.
func TestStripeConnectCommand(t *testing.T) {
	url := testenv.Database(t)
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, envFor(url), []string{"tenant", "create", "--name", "Cards", "--slug", "cards", "--owner", "c@cards.example", "--password", "correct-Horse-battery-9"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, envFor(url), []string{"tenant", "stripe-connect", "cards"}, &out, &out); err == nil || !strings.Contains(err.Error(), "not set up") {
		t.Errorf("stripe-connect without keys = %v, want card payments not set up", err)
	}
	stripe := envFor(url, "STRIPE_SECRET_KEY", "sk_test_123", "STRIPE_PUBLISHABLE_KEY", "pk_test_123",
		"STRIPE_WEBHOOK_SECRET", "whsec_test", "STRIPE_API_URL", testenv.StripeMock(t))
	out.Reset()
	if err := run(ctx, stripe, []string{"tenant", "stripe-connect", "cards"}, &out, &out); err != nil {
		t.Fatalf("stripe-connect = %v", err)
	}
	if link := strings.TrimSpace(out.String()); !strings.HasPrefix(link, "https://") {
		t.Errorf("stripe-connect printed %q, want a link", link)
	}
}

// TestOperatorCommand adds, lists and removes an operator by email.
func TestOperatorCommand(t *testing.T) {
	url := testenv.Database(t)
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, envFor(url), []string{"tenant", "create", "--name", "Ops", "--slug", "ops-shop", "--owner", "ops@ops.example", "--password", "correct-Horse-battery-9"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"operator", "add", "OPS@ops.example"}, "ops@ops.example is an operator"},
		{[]string{"operator", "list"}, "ops@ops.example"},
		{[]string{"operator", "remove", "ops@ops.example"}, "no longer an operator"},
	} {
		out.Reset()
		if err := run(ctx, envFor(url), step.args, &out, &out); err != nil || !strings.Contains(out.String(), step.want) {
			t.Errorf("storefleet %v = %v, printed %q; want %q", step.args, err, out.String(), step.want)
		}
	}
	out.Reset()
	if err := run(ctx, envFor(url), []string{"operator", "add", "nobody@ops.example"}, &out, &out); err == nil {
		t.Error("operator add of an unknown email succeeded")
	}
}
