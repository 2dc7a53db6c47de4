package webhooks

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
)

type webhookJSON struct {
	ID                  int64      `json:"id"`
	Address             string     `json:"address"`
	Topic               string     `json:"topic"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	Format              string     `json:"format"`
	Fields              []string   `json:"fields"`
	MetafieldNamespaces []string   `json:"metafield_namespaces"`
	APIVersion          string     `json:"api_version"`
	FailingSince        *time.Time `json:"failing_since"` // Storefleet extensions
	DisabledAt          *time.Time `json:"disabled_at"`
}

func toWebhookJSON(s Subscription) webhookJSON {
	fields := s.Fields
	if fields == nil {
		fields = []string{}
	}
	return webhookJSON{ID: s.ID, Address: s.Address, Topic: s.Topic, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		Format: s.Format, Fields: fields, MetafieldNamespaces: []string{}, APIVersion: apps.Versions[len(apps.Versions)-1],
		FailingSince: s.FailingSince, DisabledAt: s.DisabledAt}
}

type webhookRequest struct {
	Topic   *string   `json:"topic"`
	Address *string   `json:"address"`
	Format  *string   `json:"format"`
	Fields  *[]string `json:"fields"`
	Enabled *bool     `json:"enabled"`
}

func (r webhookRequest) toInput() (Input, error) {
	if r.Format != nil && *r.Format != "json" {
		return Input{}, &errs.Error{Kind: errs.Invalid, Message: "format must be json",
			Fields: map[string][]string{"format": {"must be json"}}}
	}
	if r.Enabled != nil && !*r.Enabled {
		return Input{}, &errs.Error{Kind: errs.Invalid, Message: "enabled can only be set to true",
			Fields: map[string][]string{"enabled": {"can only be set to true, to switch a disabled subscription back on; delete a subscription to stop it"}}}
	}
	return Input{Topic: r.Topic, Address: r.Address, Fields: r.Fields, Enabled: r.Enabled}, nil
}

// AdminRoutes mounts webhooks.json. Any token may manage its own
// subscriptions; subscribing to a topic needs the read scope of its object.
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	r.GET("/webhooks.json", appOnly, g.Handle(s.list))
	r.POST("/webhooks.json", appOnly, g.Handle(func(c *gin.Context) error { return s.create(c, g) }))
	r.GET("/webhooks/:file", appOnly, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.count(c)
		}
		return s.get(c)
	}))
	r.PUT("/webhooks/:file", appOnly, g.Handle(func(c *gin.Context) error { return s.update(c, g) }))
	r.DELETE("/webhooks/:file", appOnly, g.Handle(s.delete))
	r.GET("/webhooks/:file/deliveries.json", appOnly, g.Handle(s.deliveries))
	r.POST("/webhooks/:file/replay.json", appOnly, g.Handle(s.replay))
}

// replay is webhooks/{id}/replay.json (a Storefleet extension): send some
// deliveries again, by id, by the time they were made, or all that were
// missed since the last success ("missed": true).
func (s *Service) replay(c *gin.Context) error {
	id, err := strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || id <= 0 {
		return ErrSubscriptionNotFound
	}
	var req struct {
		DeliveryIDs []int64 `json:"delivery_ids"`
		Since       *string `json:"since"`
		Until       *string `json:"until"`
		Missed      bool    `json:"missed"`
	}
	if err := apps.DecodeObject(c, &req); err != nil {
		return err
	}
	in := ReplayRequest{DeliveryIDs: req.DeliveryIDs, Missed: req.Missed}
	bad := errs.Fields{}
	for _, f := range []struct {
		name string
		raw  *string
		dst  **time.Time
	}{{"since", req.Since, &in.Since}, {"until", req.Until, &in.Until}} {
		if f.raw == nil {
			continue
		}
		tm, err := time.Parse(time.RFC3339, *f.raw)
		if err != nil {
			bad.Add(f.name, "must be an ISO 8601 time like 2025-01-31T15:04:05-05:00")
			continue
		}
		*f.dst = &tm
	}
	if err := bad.Err(); err != nil {
		return apps.Malformed(err)
	}
	p := apps.PrincipalOf(c)
	n, err := s.Replay(c.Request.Context(), p.Store, p.Token.ID, id, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"replaying": n})
	return nil
}

type deliveryJSON struct {
	ID              int64      `json:"id"`
	WebhookID       int64      `json:"webhook_id"`
	EventID         string     `json:"event_id"`
	Topic           string     `json:"topic"`
	Status          string     `json:"status"`
	Attempts        int        `json:"attempts"`
	ResponseCode    *int       `json:"response_code"`
	LatencyMS       *int       `json:"latency_ms"`
	ResponseSnippet string     `json:"response_snippet"`
	Error           string     `json:"error"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	DeliveredAt     *time.Time `json:"delivered_at"`
}

// deliveries is webhooks/{id}/deliveries.json (a Storefleet extension): the
// subscription's delivery log, newest first.
func (s *Service) deliveries(c *gin.Context) error {
	id, err := strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || id <= 0 {
		return ErrSubscriptionNotFound
	}
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 250 {
			return apps.Malformed(errs.Fields{"limit": {"must be a whole number from 1 to 250"}}.Err())
		}
		limit = n
	}
	p := apps.PrincipalOf(c)
	ds, err := s.Deliveries(c.Request.Context(), p.Store, p.Token.ID, id, limit)
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, len(ds))
	for i, d := range ds {
		out[i] = deliveryJSON{ID: d.ID, WebhookID: d.SubscriptionID, EventID: d.EventID, Topic: d.Topic, Status: d.Status,
			Attempts: d.Attempts, ResponseCode: d.ResponseCode, LatencyMS: d.LatencyMS, ResponseSnippet: d.ResponseSnippet,
			Error: d.Error, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, DeliveredAt: d.DeliveredAt}
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": out})
	return nil
}

// appOnly refuses staff sessions: a subscription belongs to the app whose
// token made it, and is delivered with that app's secret.
func appOnly(c *gin.Context) {
	if apps.PrincipalOf(c).Token.ID == 0 {
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"errors": "webhook subscriptions belong to an app: call with the app's access token"})
	}
}

func subscriptionID(c *gin.Context) (int64, error) {
	f := c.Param("file")
	id, err := strconv.ParseInt(strings.TrimSuffix(f, ".json"), 10, 64)
	if err != nil || id <= 0 || !strings.HasSuffix(f, ".json") {
		return 0, ErrSubscriptionNotFound
	}
	return id, nil
}

// checkTopic refuses a topic whose object the caller may not read.
func checkTopic(c *gin.Context, g *apps.Gate, topic *string) error {
	if topic == nil {
		return nil
	}
	if obj := Topics[strings.TrimSpace(*topic)]; obj != "" {
		return g.Check(c, obj, rbac.Read)
	}
	return nil
}

func (s *Service) filter(c *gin.Context) (Filter, error) {
	f := Filter{Topic: c.Query("topic"), Address: c.Query("address"), Limit: 50}
	bad := errs.Fields{}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 250 {
			bad.Add("limit", "must be a whole number from 1 to 250")
		}
		f.Limit = n
	}
	if v := c.Query("since_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad.Add("since_id", "must be a webhook id")
		}
		f.After = n
	}
	if err := bad.Err(); err != nil {
		return Filter{}, &errs.Error{Kind: errs.Malformed, Message: errs.MessageOf(err), Fields: errs.FieldsOf(err)}
	}
	return f, nil
}

func (s *Service) list(c *gin.Context) error {
	f, err := s.filter(c)
	if err != nil {
		return err
	}
	p := apps.PrincipalOf(c)
	subs, err := s.Subscriptions(c.Request.Context(), p.Store, p.Token.ID, f)
	if err != nil {
		return err
	}
	out := make([]webhookJSON, len(subs))
	for i, sub := range subs {
		out[i] = toWebhookJSON(sub)
	}
	c.JSON(http.StatusOK, gin.H{"webhooks": out})
	return nil
}

func (s *Service) count(c *gin.Context) error {
	f, err := s.filter(c)
	if err != nil {
		return err
	}
	f.Limit = 1 << 30
	p := apps.PrincipalOf(c)
	subs, err := s.Subscriptions(c.Request.Context(), p.Store, p.Token.ID, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": len(subs)})
	return nil
}

func (s *Service) get(c *gin.Context) error {
	id, err := subscriptionID(c)
	if err != nil {
		return err
	}
	p := apps.PrincipalOf(c)
	sub, err := s.Subscription(c.Request.Context(), p.Store, p.Token.ID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"webhook": toWebhookJSON(sub)})
	return nil
}

func (s *Service) create(c *gin.Context, g *apps.Gate) error {
	var req webhookRequest
	if err := apps.DecodeEnvelope(c, "webhook", &req); err != nil {
		return err
	}
	in, err := req.toInput()
	if err != nil {
		return err
	}
	if err := in.validate(true); err != nil {
		return err
	}
	if err := checkTopic(c, g, in.Topic); err != nil {
		return err
	}
	p := apps.PrincipalOf(c)
	sub, err := s.Subscribe(c.Request.Context(), p.Store, p.Token.ID, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"webhook": toWebhookJSON(sub)})
	return nil
}

func (s *Service) update(c *gin.Context, g *apps.Gate) error {
	id, err := subscriptionID(c)
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := apps.DecodeEnvelope(c, "webhook", &req); err != nil {
		return err
	}
	in, err := req.toInput()
	if err != nil {
		return err
	}
	if err := in.validate(false); err != nil {
		return err
	}
	if err := checkTopic(c, g, in.Topic); err != nil {
		return err
	}
	p := apps.PrincipalOf(c)
	sub, err := s.Update(c.Request.Context(), p.Store, p.Token.ID, id, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"webhook": toWebhookJSON(sub)})
	return nil
}

func (s *Service) delete(c *gin.Context) error {
	id, err := subscriptionID(c)
	if err != nil {
		return err
	}
	p := apps.PrincipalOf(c)
	if err := s.Unsubscribe(c.Request.Context(), p.Store, p.Token.ID, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}
