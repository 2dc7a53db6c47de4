package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
)

// appsObj is the casbin object of the Apps and API screens. No object of
// its own exists for tokens and webhooks, so the store's settings stand in:
// "shop" read to see them (every role), "shop" write to change them (owners
// and admins only), since a token opens the store's data to an app.
const appsObj = "shop"

// appsLogShown is how many deliveries the delivery log shows, newest first.
const appsLogShown = 100

// appsTimeLayout is a datetime-local input's value.
const appsTimeLayout = "2006-01-02T15:04"

// appsScopeGroup is one resource's row of the scope checkboxes: its read
// and write scope.
type appsScopeGroup struct {
	Label             string
	Read, Write       string
	ReadSet, WriteSet bool
}

// appsScopeGroups pairs tenant.Scopes by resource, in their order, with the
// scopes in checked ticked.
func appsScopeGroups(checked []string) []appsScopeGroup {
	var out []appsScopeGroup
	for _, s := range tenant.Scopes {
		res, ok := strings.CutPrefix(s, "read_")
		if !ok {
			continue
		}
		g := appsScopeGroup{Label: strings.ToUpper(res[:1]) + strings.ReplaceAll(res[1:], "_", " "), Read: s, Write: "write_" + res}
		g.ReadSet, g.WriteSet = contains(checked, g.Read), contains(checked, g.Write)
		out = append(out, g)
	}
	return out
}

// appsToken is a token as the screens show it.
type appsToken struct {
	ID                   int64
	Name, Prefix, Scopes string
	Created, LastUsed    string
	Revoked              string // when; "" while it works
	RevokedAt            *time.Time
	Link                 string
}

// appsPage is the list of the store's tokens with the form to create one;
// after a creation, the new token's secret, shown this once.
type appsPage struct {
	Tokens   []appsToken
	CanWrite bool
	Groups   []appsScopeGroup
	Name     string
	Errors   map[string][]string
	Error    string
	Flash    string
	Created  *appsToken
	Secret   string
}

// appsDone are the notices after an action, by ?done=.
var appsDone = map[string]string{
	"revoked":    "The token is revoked: apps calling with it are refused from now on.",
	"subscribed": "The webhook subscription is added.",
	"deleted":    "The webhook subscription is deleted.",
	"enabled":    "The webhook subscription is on again.",
	"replay":     "Deliveries are queued to be sent again.",
}

// appsZone is the store's time zone, in which times are shown and the
// replay range is read; UTC when it has none.
func (d *Dashboard) appsZone(ctx context.Context, st *tenant.Tenant) *time.Location {
	sh, err := d.cfg.Shop.Shop(ctx, st)
	if err != nil || sh.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(sh.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// appsWhen writes t in loc; "never" for no time.
func appsWhen(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "never"
	}
	return t.In(loc).Format("2 Jan 2006 15:04 MST")
}

func toAppsToken(slug string, t tenant.Token, loc *time.Location) appsToken {
	v := appsToken{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: strings.Join(t.Scopes, ", "),
		Created: appsWhen(&t.CreatedAt, loc), LastUsed: appsWhen(t.LastUsedAt, loc), RevokedAt: t.RevokedAt,
		Link: fmt.Sprintf("/store/%s/apps/%d", slug, t.ID)}
	if t.RevokedAt != nil {
		v.Revoked = appsWhen(t.RevokedAt, loc)
	}
	return v
}

// apps lists the store's API access tokens, with the form to make one.
func (d *Dashboard) apps(c *gin.Context) {
	page := appsPage{}
	if msg, ok := appsDone[c.Query("done")]; ok {
		page.Flash = msg
	}
	d.showApps(c, http.StatusOK, page)
}

// showApps renders the tokens page with status; form carries the create
// form's values and error, or the token just created.
func (d *Dashboard) showApps(c *gin.Context, status int, form appsPage) {
	m := memberOf(c)
	ctx := c.Request.Context()
	toks, err := d.cfg.DB.Tokens(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := form
	if page.CanWrite, err = d.Allowed(m, appsObj, rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	loc := d.appsZone(ctx, m.Store)
	for _, t := range toks {
		page.Tokens = append(page.Tokens, toAppsToken(m.Store.Slug, t, loc))
	}
	if page.Groups == nil {
		page.Groups = appsScopeGroups(nil)
	}
	d.render(c, status, "apps", "Apps and API", page)
}

// createToken makes an API access token, as `storefleet tenant token
// create` does, and shows its secret in this response only: it is not kept,
// so it is never put in a redirect, a cookie or a cache.
func (d *Dashboard) createToken(c *gin.Context) {
	m := memberOf(c)
	name := strings.TrimSpace(c.PostForm("name"))
	scopes := c.PostFormArray("scopes")
	tok, secret, err := d.cfg.DB.CreateToken(c.Request.Context(), m.Store, name, scopes)
	switch {
	case errs.Is(err, errs.Invalid):
		d.showApps(c, http.StatusUnprocessableEntity, appsPage{Name: name, Groups: appsScopeGroups(scopes),
			Error: errs.MessageOf(err), Errors: errs.FieldsOf(err)})
		return
	case err != nil:
		d.failErr(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	created := toAppsToken(m.Store.Slug, tok, d.appsZone(c.Request.Context(), m.Store))
	d.showApps(c, http.StatusCreated, appsPage{Created: &created, Secret: secret})
}

// appsTokenOf is the store's token named by the :token parameter; NotFound
// for one of another store, or none.
func (d *Dashboard) appsTokenOf(c *gin.Context) (tenant.Token, error) {
	id, err := strconv.ParseInt(c.Param("token"), 10, 64)
	if err != nil || id <= 0 {
		return tenant.Token{}, errs.E(errs.NotFound, "token not found")
	}
	toks, err := d.cfg.DB.Tokens(c.Request.Context(), memberOf(c).Store)
	if err != nil {
		return tenant.Token{}, err
	}
	for _, t := range toks {
		if t.ID == id {
			return t, nil
		}
	}
	return tenant.Token{}, errs.E(errs.NotFound, "token not found")
}

// appsHook is a webhook subscription as the screens show it.
type appsHook struct {
	ID                     int64
	Topic, Address, Format string
	State, Why             string // "enabled" or "disabled", and since when and why
	Disabled               bool
	Link                   string
}

func toAppsHook(tokLink string, s webhooks.Subscription, loc *time.Location) appsHook {
	h := appsHook{ID: s.ID, Topic: s.Topic, Address: s.Address, Format: s.Format, State: "enabled",
		Link: fmt.Sprintf("%s/webhooks/%d", tokLink, s.ID)}
	switch {
	case s.DisabledAt != nil:
		h.State, h.Disabled = "disabled", true
		h.Why = "Turned off " + appsWhen(s.DisabledAt, loc) + " after failing every delivery since " + appsWhen(s.FailingSince, loc) +
			". Nothing is sent until it is turned on again; what it missed is kept for a replay."
	case s.FailingSince != nil:
		h.Why = "Failing since " + appsWhen(s.FailingSince, loc) + "; retries go on, and it is turned off after 48 hours of failures."
	}
	return h
}

// appsDelivery is a line of a delivery log.
type appsDelivery struct {
	ID                      int64
	When, Topic, Status     string
	Code, Latency, Attempts string
	Snippet, Error          string
}

// appsLog is one subscription's delivery log.
type appsLog struct {
	Deliveries []appsDelivery
	From, To   string
	Zone       string
}

// appPage is one token's page: its webhook subscriptions and the form to
// add one; with Log, one subscription's delivery log.
type appPage struct {
	Token    appsToken
	Hooks    []appsHook
	Topics   []string
	CanWrite bool
	Topic    string
	Address  string
	Flash    string
	Error    string
	Errors   map[string][]string
	Hook     *appsHook
	Log      *appsLog
}

// app shows one token: its scopes and webhook subscriptions, with the forms
// to subscribe, and to revoke the token.
func (d *Dashboard) app(c *gin.Context) {
	page := appPage{}
	d.appsFlash(c, &page)
	d.showApp(c, http.StatusOK, page)
}

// appsFlash sets the notice of ?done= (and ?replaying=, how many
// deliveries were queued to be sent again).
func (d *Dashboard) appsFlash(c *gin.Context, page *appPage) {
	msg, ok := appsDone[c.Query("done")]
	if !ok {
		return
	}
	if n, err := strconv.Atoi(c.Query("replaying")); err == nil {
		switch {
		case n == 0:
			msg = strings.TrimSuffix(msg, "Deliveries are queued to be sent again.") + " There was no delivery to send again."
		case n == 1:
			msg = strings.TrimSuffix(msg, "Deliveries are queued to be sent again.") + " 1 delivery is queued to be sent again."
		default:
			msg = strings.TrimSuffix(msg, "Deliveries are queued to be sent again.") + fmt.Sprintf(" %d deliveries are queued to be sent again.", n)
		}
	}
	page.Flash = strings.TrimSpace(msg)
}

// showApp renders token's page with status; form carries the subscribe
// form's values and an error the merchant can act on.
func (d *Dashboard) showApp(c *gin.Context, status int, form appPage) {
	m := memberOf(c)
	ctx := c.Request.Context()
	tok, err := d.appsTokenOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	subs, err := d.cfg.Webhooks.Subscriptions(ctx, m.Store, tok.ID, webhooks.Filter{Limit: 250})
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := form
	if page.Topics, err = d.cfg.Webhooks.TopicsFor(m.Store, tok); err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanWrite, err = d.Allowed(m, appsObj, rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	loc := d.appsZone(ctx, m.Store)
	page.Token = toAppsToken(m.Store.Slug, tok, loc)
	for _, s := range subs {
		page.Hooks = append(page.Hooks, toAppsHook(page.Token.Link, s, loc))
	}
	d.render(c, status, "app", "Token "+tok.Name, page)
}

// appsAnswer answers a post about token: back to path with a notice, or,
// for an error the merchant can act on, show again with it (422).
func (d *Dashboard) appsAnswer(c *gin.Context, path string, err error, show func(status int, err error)) {
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, path)
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		show(http.StatusUnprocessableEntity, err)
	default:
		d.failErr(c, err)
	}
}

// revokeToken revokes a token, once the merchant has ticked the box that
// says they know its apps stop working.
func (d *Dashboard) revokeToken(c *gin.Context) {
	m := memberOf(c)
	tok, err := d.appsTokenOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if c.PostForm("confirm") == "" {
		msg := "Tick the box to confirm: apps calling with this token stop working at once."
		err = &errs.Error{Kind: errs.Invalid, Message: msg, Fields: map[string][]string{"confirm": {msg}}}
	} else {
		err = d.cfg.DB.RevokeToken(c.Request.Context(), m.Store, tok.ID)
	}
	d.appsAnswer(c, "/store/"+m.Store.Slug+"/apps?done=revoked", err, func(status int, err error) {
		d.showApp(c, status, appPage{Error: errs.MessageOf(err), Errors: errs.FieldsOf(err)})
	})
}

// createWebhook subscribes the token's app to a topic at an address, with
// the Admin API's validation.
func (d *Dashboard) createWebhook(c *gin.Context) {
	m := memberOf(c)
	tok, err := d.appsTokenOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	topic, address := strings.TrimSpace(c.PostForm("topic")), strings.TrimSpace(c.PostForm("address"))
	_, err = d.cfg.Webhooks.SubscribeToken(c.Request.Context(), m.Store, tok, webhooks.Input{Topic: &topic, Address: &address})
	d.appsAnswer(c, fmt.Sprintf("/store/%s/apps/%d?done=subscribed", m.Store.Slug, tok.ID), err, func(status int, err error) {
		d.showApp(c, status, appPage{Topic: topic, Address: address, Error: errs.MessageOf(err), Errors: errs.FieldsOf(err)})
	})
}

// appsHookOf is the token and its subscription named by the :token and :id
// parameters; NotFound for either not being this store's.
func (d *Dashboard) appsHookOf(c *gin.Context) (tenant.Token, webhooks.Subscription, error) {
	tok, err := d.appsTokenOf(c)
	if err != nil {
		return tok, webhooks.Subscription{}, err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return tok, webhooks.Subscription{}, webhooks.ErrSubscriptionNotFound
	}
	sub, err := d.cfg.Webhooks.Subscription(c.Request.Context(), memberOf(c).Store, tok.ID, id)
	return tok, sub, err
}

// deleteWebhook deletes a subscription of the token's app.
func (d *Dashboard) deleteWebhook(c *gin.Context) {
	m := memberOf(c)
	tok, sub, err := d.appsHookOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	err = d.cfg.Webhooks.Unsubscribe(c.Request.Context(), m.Store, tok.ID, sub.ID)
	d.appsAnswer(c, fmt.Sprintf("/store/%s/apps/%d?done=deleted", m.Store.Slug, tok.ID), err, func(status int, err error) {
		d.showApp(c, status, appPage{Error: errs.MessageOf(err)})
	})
}

// enableWebhook switches a disabled subscription back on, as PUT
// webhooks/{id}.json with enabled: true does, and, when asked, replays what
// it missed (ReplayMissed), as a partner would with replay.json.
func (d *Dashboard) enableWebhook(c *gin.Context) {
	m := memberOf(c)
	ctx := c.Request.Context()
	tok, sub, err := d.appsHookOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	on := true
	if _, err := d.cfg.Webhooks.Update(ctx, m.Store, tok.ID, sub.ID, webhooks.Input{Enabled: &on}); err != nil {
		d.appsAnswer(c, "", err, func(status int, err error) { d.showApp(c, status, appPage{Error: errs.MessageOf(err)}) })
		return
	}
	path := fmt.Sprintf("/store/%s/apps/%d?done=enabled", m.Store.Slug, tok.ID)
	if c.PostForm("replay") != "" {
		n, err := d.cfg.Webhooks.ReplayMissed(ctx, m.Store, tok.ID, sub.ID)
		if err != nil {
			d.appsAnswer(c, "", err, func(status int, err error) {
				d.showApp(c, status, appPage{Error: "The subscription is on again, but what it missed was not queued: " + errs.MessageOf(err) +
					". Replay it from the delivery log."})
			})
			return
		}
		path += "&replaying=" + strconv.Itoa(n)
	}
	c.Redirect(http.StatusSeeOther, path)
}

// webhookLog shows a subscription's delivery log, newest first, with the
// forms to send deliveries again.
func (d *Dashboard) webhookLog(c *gin.Context) {
	page := appPage{}
	d.appsFlash(c, &page)
	d.showWebhookLog(c, http.StatusOK, page, "", "")
}

// showWebhookLog renders a subscription's delivery log with status; from
// and to are the replay form's values.
func (d *Dashboard) showWebhookLog(c *gin.Context, status int, form appPage, from, to string) {
	m := memberOf(c)
	ctx := c.Request.Context()
	tok, sub, err := d.appsHookOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	ds, err := d.cfg.Webhooks.Deliveries(ctx, m.Store, tok.ID, sub.ID, appsLogShown)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := form
	if page.CanWrite, err = d.Allowed(m, appsObj, rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	loc := d.appsZone(ctx, m.Store)
	page.Token = toAppsToken(m.Store.Slug, tok, loc)
	hook := toAppsHook(page.Token.Link, sub, loc)
	page.Hook = &hook
	log := &appsLog{From: from, To: to, Zone: loc.String()}
	for _, dl := range ds {
		v := appsDelivery{ID: dl.ID, When: appsWhen(&dl.CreatedAt, loc), Topic: dl.Topic, Status: dl.Status,
			Code: "—", Latency: "—", Attempts: strconv.Itoa(dl.Attempts), Snippet: dl.ResponseSnippet, Error: dl.Error}
		if dl.ResponseCode != nil {
			v.Code = strconv.Itoa(*dl.ResponseCode)
		}
		if dl.LatencyMS != nil {
			v.Latency = strconv.Itoa(*dl.LatencyMS) + " ms"
		}
		log.Deliveries = append(log.Deliveries, v)
	}
	page.Log = log
	d.render(c, status, "app", "Deliveries of "+sub.Topic, page)
}

// replayWebhook sends deliveries of a subscription again, through the
// Replay the Admin API's replay.json uses: one delivery (delivery_id), or
// every one made in a time range (from, to) read in the store's time zone.
func (d *Dashboard) replayWebhook(c *gin.Context) {
	m := memberOf(c)
	ctx := c.Request.Context()
	tok, sub, err := d.appsHookOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	from, to := strings.TrimSpace(c.PostForm("from")), strings.TrimSpace(c.PostForm("to"))
	var req webhooks.ReplayRequest
	if v := c.PostForm("delivery_id"); v != "" {
		id, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || id <= 0 {
			d.notFound(c)
			return
		}
		req.DeliveryIDs = []int64{id}
	} else {
		req, err = appsReplayRange(from, to, d.appsZone(ctx, m.Store))
	}
	n := 0
	if err == nil {
		n, err = d.cfg.Webhooks.Replay(ctx, m.Store, tok.ID, sub.ID, req)
	}
	d.appsAnswer(c, fmt.Sprintf("/store/%s/apps/%d/webhooks/%d?done=replay&replaying=%d", m.Store.Slug, tok.ID, sub.ID, n), err,
		func(status int, err error) {
			d.showWebhookLog(c, status, appPage{Error: errs.MessageOf(err), Errors: errs.FieldsOf(err)}, from, to)
		})
}

// appsReplayRange reads a replay's time range from datetime-local values
// in loc: from is needed, to is optional and must come after it.
//
// Errors: Invalid, naming the field.
func appsReplayRange(from, to string, loc *time.Location) (webhooks.ReplayRequest, error) {
	var req webhooks.ReplayRequest
	f := errs.Fields{}
	if from == "" {
		f.Add("from", "can't be blank: pick when the range starts")
	} else if t, err := time.ParseInLocation(appsTimeLayout, from, loc); err != nil {
		f.Add("from", "must be a date and time like 2025-01-31T15:04")
	} else {
		req.Since = &t
	}
	if to != "" {
		if t, err := time.ParseInLocation(appsTimeLayout, to, loc); err != nil {
			f.Add("to", "must be a date and time like 2025-01-31T15:04")
		} else {
			req.Until = &t
		}
	}
	if req.Since != nil && req.Until != nil && !req.Until.After(*req.Since) {
		f.Add("to", "must be after the start of the range")
	}
	return req, f.Err()
}
