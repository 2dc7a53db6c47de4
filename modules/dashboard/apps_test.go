package dashboard_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
)

var appsSecretPattern = regexp.MustCompile(`sfat_[0-9a-f]{64}`)

// appsToken makes an API token in st through the service.
func (f *fixture) appsToken(st *tenant.Tenant, name string, scopes ...string) (tenant.Token, string) {
	f.t.Helper()
	tok, secret, err := f.db.CreateToken(context.Background(), st, name, scopes)
	if err != nil {
		f.t.Fatalf("CreateToken(%s, %v) = %v", name, scopes, err)
	}
	return tok, secret
}

// appsTokens counts st's tokens.
func (f *fixture) appsTokens(st *tenant.Tenant) int {
	f.t.Helper()
	toks, err := f.db.Tokens(context.Background(), st)
	if err != nil {
		f.t.Fatalf("Tokens = %v", err)
	}
	return len(toks)
}

// appsSubs lists token's subscriptions in st.
func (f *fixture) appsSubs(st *tenant.Tenant, token int64) []webhooks.Subscription {
	f.t.Helper()
	subs, err := webhooks.NewService(f.db).Subscriptions(context.Background(), st, token, webhooks.Filter{Limit: 250})
	if err != nil {
		f.t.Fatalf("Subscriptions = %v", err)
	}
	return subs
}

// appsSubscribe subscribes token to topic at address in st through the
// service.
func (f *fixture) appsSubscribe(st *tenant.Tenant, token int64, topic, address string) webhooks.Subscription {
	f.t.Helper()
	sub, err := webhooks.NewService(f.db, webhooks.AllowPrivate(true)).Subscribe(context.Background(), st, token, webhooks.Input{Topic: &topic, Address: &address})
	if err != nil {
		f.t.Fatalf("Subscribe(%s, %s) = %v", topic, address, err)
	}
	return sub
}

// appsEndpoint is an HTTPS endpoint answering status and body, and a
// client that takes every address to it, as a subscriber's server would
// be reached: the delivery goes through the same Deliver the worker calls.
func appsEndpoint(t *testing.T, status int, body string) *http.Client {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
}

// appsDeliver delivers an event of sub's topic to it through client.
func (f *fixture) appsDeliver(st *tenant.Tenant, sub webhooks.Subscription, client *http.Client) tenant.Event {
	f.t.Helper()
	ev := tenant.Event{ID: uuid.New(), Store: st.ID, Topic: sub.Topic, Payload: json.RawMessage(`{"id":1,"title":"Sencha"}`), CreatedAt: time.Now()}
	err := webhooks.NewService(f.db).Deliver(context.Background(), st, sub.ID, ev, st.Slug+".localhost", client)
	if err != nil && !strings.Contains(err.Error(), webhooks.ErrRetry.Error()) {
		f.t.Fatalf("Deliver(%d) = %v", sub.ID, err)
	}
	return ev
}

// TestAppsTokens: the owner creates a token and sees its secret once; the
// secret works against the API; the list shows it without the secret; a
// token without scopes is refused with 422; revoking needs a confirmation
// and then the secret stops working.
func TestAppsTokens(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("apps-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	ctx := context.Background()

	home := b.get("/store/apps-shop")
	if !strings.Contains(home.body, `href="/store/apps-shop/apps"`) {
		t.Errorf("the owner's menu has no Apps and API item")
	}
	page := b.get("/store/apps-shop/apps")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Create a token") || !strings.Contains(page.body, `value="write_shipping"`) {
		t.Fatalf("GET apps = %d %.300s, want 200 with the create form and every scope", page.status, page.body)
	}

	// No scope: 422 with the message, nothing made.
	r := b.post("/store/apps-shop/apps", url.Values{"name": {"Warehouse"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "at least one") || !strings.Contains(r.body, `value="Warehouse"`) {
		t.Errorf("POST apps without scopes = %d %.300s, want 422 saying a scope is needed, with the name kept", r.status, r.body)
	}
	if n := f.appsTokens(st); n != 0 {
		t.Errorf("after a refused creation there are %d tokens, want 0", n)
	}

	r = b.post("/store/apps-shop/apps", url.Values{"name": {"Warehouse"}, "scopes": {"read_products"}})
	if r.status != http.StatusCreated {
		t.Fatalf("POST apps = %d %.300s, want 201", r.status, r.body)
	}
	secret := appsSecretPattern.FindString(r.body)
	if secret == "" || !strings.Contains(r.body, "will not be shown again") {
		t.Fatalf("the created page shows no secret, or no warning: %.500s", r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the created page's Cache-Control = %q, want no-store", cc)
	}
	if loc := r.header.Get("Location"); loc != "" {
		t.Errorf("the created page redirects to %q; the secret must be in the response itself", loc)
	}
	for _, ck := range r.header.Values("Set-Cookie") {
		if strings.Contains(ck, secret) {
			t.Errorf("a cookie carries the secret")
		}
	}
	tok, err := f.db.Authenticate(ctx, st, secret)
	if err != nil || tok.Name != "Warehouse" || strings.Join(tok.Scopes, ",") != "read_products" {
		t.Fatalf("Authenticate(the shown secret) = %+v, %v; want the Warehouse token with read_products", tok, err)
	}

	list := b.get("/store/apps-shop/apps")
	if !strings.Contains(list.body, "Warehouse") || !strings.Contains(list.body, tok.Prefix) || !strings.Contains(list.body, "read_products") {
		t.Errorf("the list lacks the token's name, prefix or scopes")
	}
	if strings.Contains(list.body, secret) {
		t.Errorf("the list shows the secret again")
	}

	path := fmt.Sprintf("/store/apps-shop/apps/%d", tok.ID)
	b.get(path)
	r = b.post(path+"/revoke", url.Values{})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Tick the box to confirm") {
		t.Errorf("POST revoke without confirming = %d, want 422 asking to confirm", r.status)
	}
	if _, err := f.db.Authenticate(ctx, st, secret); err != nil {
		t.Errorf("after an unconfirmed revoke, Authenticate = %v, want the token still working", err)
	}
	r = b.post(path+"/revoke", url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/store/apps-shop/apps?done=revoked" {
		t.Fatalf("POST revoke = %d %s, want 303 to the list", r.status, r.header.Get("Location"))
	}
	if _, err := f.db.Authenticate(ctx, st, secret); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("after revoking, Authenticate = %v, want Unauthenticated", err)
	}
	list = b.get("/store/apps-shop/apps?done=revoked")
	if !strings.Contains(list.body, "The token is revoked") || !strings.Contains(list.body, "revoked ") {
		t.Errorf("after revoking, the list does not say so")
	}
}

// TestAppsWebhooks: the owner subscribes a token to a topic its scopes
// allow; an http address and a topic it may not read are refused with 422
// and the message; the delivery log shows a delivery made by Deliver; one
// delivery and a time range are replayed; a disabled subscription is
// turned on again with what it missed replayed; a subscription is deleted.
func TestAppsWebhooks(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("hooks-shop")
	tok, _ := f.appsToken(st, "Sync", "read_products")
	b := f.browser()
	b.mustLogin(acct.Email)
	ctx := context.Background()
	hooks := webhooks.NewService(f.db)

	path := fmt.Sprintf("/store/hooks-shop/apps/%d", tok.ID)
	page := b.get(path)
	if page.status != http.StatusOK || !strings.Contains(page.body, `<option value="products/create"`) ||
		strings.Contains(page.body, `<option value="orders/create"`) {
		t.Fatalf("GET %s = %d, want 200 offering products topics and not orders ones: %.500s", path, page.status, page.body)
	}
	r := b.post(path+"/webhooks", url.Values{"topic": {"products/create"}, "address": {"http://example.com/hook"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "must use https") || !strings.Contains(r.body, `value="http://example.com/hook"`) {
		t.Errorf("POST webhooks with an http address = %d %.300s, want 422 saying https is needed", r.status, r.body)
	}
	r = b.post(path+"/webhooks", url.Values{"topic": {"orders/create"}, "address": {"https://example.com/hook"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "read_orders") {
		t.Errorf("POST webhooks for a topic the token may not read = %d, want 422 naming read_orders", r.status)
	}
	if n := len(f.appsSubs(st, tok.ID)); n != 0 {
		t.Fatalf("after refused subscriptions there are %d, want 0", n)
	}
	r = b.post(path+"/webhooks", url.Values{"topic": {"products/create"}, "address": {"https://example.com/hook"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=subscribed" {
		t.Fatalf("POST webhooks = %d %s %.300s, want 303 back to the token", r.status, r.header.Get("Location"), r.body)
	}
	subs := f.appsSubs(st, tok.ID)
	if len(subs) != 1 || subs[0].Topic != "products/create" || subs[0].Address != "https://example.com/hook" {
		t.Fatalf("after subscribing, subscriptions = %+v, want products/create to https://example.com/hook", subs)
	}
	page = b.get(path + "?done=subscribed")
	if !strings.Contains(page.body, "https://example.com/hook") || !strings.Contains(page.body, "enabled") || !strings.Contains(page.body, "subscription is added") {
		t.Errorf("the token's page does not list the new subscription as enabled")
	}

	// A delivery, made by the worker's Deliver, shows in the log.
	sub := f.appsSubscribe(st, tok.ID, "products/update", "https://example.com/updates")
	f.appsDeliver(st, sub, appsEndpoint(t, http.StatusOK, "thanks-from-the-app"))
	logPath := fmt.Sprintf("%s/webhooks/%d", path, sub.ID)
	log := b.get(logPath)
	if log.status != http.StatusOK {
		t.Fatalf("GET %s = %d %.300s", logPath, log.status, log.body)
	}
	for _, want := range []string{"Deliveries of products/update", "delivered", "<td>200</td>", " ms</td>", "<td>1</td>", "thanks-from-the-app"} {
		if !strings.Contains(log.body, want) {
			t.Errorf("the delivery log lacks %q", want)
		}
	}
	ds, err := hooks.Deliveries(ctx, st, tok.ID, sub.ID, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Deliveries = %v, %v; want 1", ds, err)
	}
	r = b.post(logPath+"/replay", url.Values{"delivery_id": {fmt.Sprint(ds[0].ID)}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != logPath+"?done=replay&replaying=1" {
		t.Errorf("POST replay of one delivery = %d %s, want 303 saying 1 is replayed", r.status, r.header.Get("Location"))
	}
	if log := b.get(logPath + "?done=replay&replaying=1"); !strings.Contains(log.body, "1 delivery is queued to be sent again") {
		t.Errorf("after a replay, the log does not say what was queued")
	}
	r = b.post(logPath+"/replay", url.Values{"from": {""}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "From can&#39;t be blank") {
		t.Errorf("POST replay without a start = %d %.300s, want 422 asking for it", r.status, r.body)
	}
	from := time.Now().UTC().Add(-24 * time.Hour)
	r = b.post(logPath+"/replay", url.Values{"from": {from.Format("2006-01-02T15:04")}, "to": {from.Add(-time.Hour).Format("2006-01-02T15:04")}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "must be after the start") {
		t.Errorf("POST replay with to before from = %d, want 422 saying so", r.status)
	}
	r = b.post(logPath+"/replay", url.Values{"from": {from.Format("2006-01-02T15:04")}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != logPath+"?done=replay&replaying=1" {
		t.Errorf("POST replay of the last day = %d %s, want 303 saying 1 is replayed", r.status, r.header.Get("Location"))
	}

	// Failing, then disabled by the worker's GiveUp: turned on again, with
	// what it missed replayed.
	down := f.appsSubscribe(st, tok.ID, "products/delete", "https://example.com/down")
	ev := f.appsDeliver(st, down, appsEndpoint(t, http.StatusInternalServerError, "down"))
	if err := hooks.GiveUp(ctx, st, down.ID, ev, "no success after retries", 0); err != nil {
		t.Fatalf("GiveUp = %v", err)
	}
	page = b.get(path)
	if !strings.Contains(page.body, "disabled") || !strings.Contains(page.body, "Turned off") || !strings.Contains(page.body, "Also send what it missed") {
		t.Errorf("the token's page does not show the disabled subscription with the offer to turn it on: %.2000s", page.body)
	}
	downPath := fmt.Sprintf("%s/webhooks/%d", path, down.ID)
	r = b.post(downPath+"/enable", url.Values{"replay": {"1"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=enabled&replaying=1" {
		t.Errorf("POST enable = %d %s, want 303 saying 1 missed delivery is replayed", r.status, r.header.Get("Location"))
	}
	if page := b.get(path + "?done=enabled&replaying=1"); !strings.Contains(page.body, "on again. 1 delivery is queued to be sent again") {
		t.Errorf("after enabling, the page does not say the missed delivery is queued")
	}
	if got, err := hooks.Subscription(ctx, st, tok.ID, down.ID); err != nil || got.DisabledAt != nil {
		t.Errorf("after enabling, the subscription is %+v, %v; want it on", got, err)
	}

	b.get(path)
	if r := b.post(downPath+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("POST delete = %d, want 303", r.status)
	}
	if _, err := hooks.Subscription(ctx, st, tok.ID, down.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("after deleting, Subscription = %v, want NotFound", err)
	}
}

// TestAppsRoles: tokens and webhooks are managed by owners and admins; staff
// and viewers may look but every post is refused with 403, changing
// nothing.
func TestAppsRoles(t *testing.T) {
	f := newFixture(t)
	_, st := f.owner("apps-roles")
	tok, secret := f.appsToken(st, "Sync", "read_products")
	sub := f.appsSubscribe(st, tok.ID, "products/create", "https://example.com/hook")
	path := fmt.Sprintf("/store/apps-roles/apps/%d", tok.ID)
	for _, role := range []tenant.Role{tenant.RoleStaff, tenant.RoleViewer} {
		acct := f.staff(st, role)
		b := f.browser()
		b.mustLogin(acct.Email)
		list := b.get("/store/apps-roles/apps")
		if list.status != http.StatusOK || !strings.Contains(list.body, "Sync") || strings.Contains(list.body, "Create a token") {
			t.Errorf("%s: GET apps = %d, want 200 listing Sync without the create form", role, list.status)
		}
		for _, post := range []struct {
			path string
			form url.Values
		}{
			{"/store/apps-roles/apps", url.Values{"name": {"Mine"}, "scopes": {"write_orders"}}},
			{path + "/revoke", url.Values{"confirm": {"1"}}},
			{path + "/webhooks", url.Values{"topic": {"products/update"}, "address": {"https://example.com/x"}}},
			{fmt.Sprintf("%s/webhooks/%d/delete", path, sub.ID), url.Values{}},
			{fmt.Sprintf("%s/webhooks/%d/replay", path, sub.ID), url.Values{"from": {"2025-01-01T00:00"}}},
		} {
			if r := b.post(post.path, post.form); r.status != http.StatusForbidden {
				t.Errorf("%s: POST %s = %d, want 403", role, post.path, r.status)
			}
		}
	}
	if n := f.appsTokens(st); n != 1 {
		t.Errorf("after refused posts there are %d tokens, want 1", n)
	}
	if _, err := f.db.Authenticate(context.Background(), st, secret); err != nil {
		t.Errorf("after refused revokes, Authenticate = %v", err)
	}
	if n := len(f.appsSubs(st, tok.ID)); n != 1 {
		t.Errorf("after refused posts there are %d subscriptions, want 1", n)
	}
}

// TestAppsCrossTenant: another store's token or subscription under this
// store's slug is not found, and nothing of it changes.
func TestAppsCrossTenant(t *testing.T) {
	f := newFixture(t)
	acct, stA := f.owner("apps-a")
	_, other := f.owner("apps-b")
	tokB, secretB := f.appsToken(other, "Secret Partner", "read_products")
	subB := f.appsSubscribe(other, tokB.ID, "products/create", "https://example.com/b")
	b := f.browser()
	b.mustLogin(acct.Email)
	pathB := fmt.Sprintf("/store/apps-a/apps/%d", tokB.ID)
	for _, p := range []string{pathB, fmt.Sprintf("%s/webhooks/%d", pathB, subB.ID), "/store/apps-b/apps"} {
		if r := b.get(p); r.status != http.StatusNotFound || strings.Contains(r.body, "Secret Partner") {
			t.Errorf("GET %s = %d, want 404 showing nothing", p, r.status)
		}
	}
	list := b.get("/store/apps-a/apps")
	if strings.Contains(list.body, "Secret Partner") {
		t.Errorf("store A's list shows store B's token")
	}
	for _, post := range []struct {
		path string
		form url.Values
	}{
		{pathB + "/revoke", url.Values{"confirm": {"1"}}},
		{pathB + "/webhooks", url.Values{"topic": {"products/update"}, "address": {"https://example.com/x"}}},
		{fmt.Sprintf("%s/webhooks/%d/delete", pathB, subB.ID), url.Values{}},
	} {
		if r := b.post(post.path, post.form); r.status != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404", post.path, r.status)
		}
	}
	// Store A's own token with store B's subscription id: not found either.
	tokA, _ := f.appsToken(stA, "Mine", "read_products")
	pathA := fmt.Sprintf("/store/apps-a/apps/%d/webhooks/%d", tokA.ID, subB.ID)
	if r := b.get(pathA); r.status != http.StatusNotFound {
		t.Errorf("GET %s = %d, want 404", pathA, r.status)
	}
	if _, err := f.db.Authenticate(context.Background(), other, secretB); err != nil {
		t.Errorf("store B's token stopped working: %v", err)
	}
	if n := len(f.appsSubs(other, tokB.ID)); n != 1 {
		t.Errorf("store B has %d subscriptions, want 1", n)
	}
}

// TestAppsCSRF: creating a token without the page's CSRF token is refused
// with 403 and makes nothing.
func TestAppsCSRF(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("apps-csrf")
	b := f.browser()
	b.mustLogin(acct.Email)
	b.get("/store/apps-csrf/apps")
	r := b.do(http.MethodPost, "/store/apps-csrf/apps", url.Values{"name": {"Sneaky"}, "scopes": {"write_orders"}})
	if r.status != http.StatusForbidden {
		t.Errorf("POST apps without a CSRF token = %d, want 403", r.status)
	}
	if n := f.appsTokens(st); n != 0 {
		t.Errorf("after a refused post there are %d tokens, want 0", n)
	}
}
