package webhooks

import (
	"context"
	"slices"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/tenant"
)

// TopicsFor lists, sorted, the topics app token tok may be subscribed to in
// store t: those whose object its scopes let it read, the check the Admin
// API makes when the app subscribes itself. The dashboard offers only these.
func (s *Service) TopicsFor(t *tenant.Tenant, tok tenant.Token) ([]string, error) {
	access, err := s.db.Access()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, topic := range sortedTopics() {
		obj := Topics[topic]
		if obj != "" {
			ok, err := access.Allowed(tok.Subject(), rbac.Store(int64(t.ID)), obj, rbac.Read)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		out = append(out, topic)
	}
	return out, nil
}

// SubscribeToken makes a subscription for app token tok in store t on the
// merchant's behalf (the dashboard): Subscribe, with the check the Admin API
// makes of an app subscribing itself, that the token's scopes let it read
// the topic's object; a merchant is told which scope is missing rather than
// refused.
//
// Errors: NotFound (another store's token), Invalid (a revoked token, the
// topic, the scope it needs, the address, the same topic and address twice).
func (s *Service) SubscribeToken(ctx context.Context, t *tenant.Tenant, tok tenant.Token, in Input) (Subscription, error) {
	if tok.Store != t.ID {
		return Subscription{}, errs.E(errs.NotFound, "token not found")
	}
	if tok.RevokedAt != nil {
		return Subscription{}, &errs.Error{Kind: errs.Invalid, Message: "this token is revoked: its app gets no more webhooks",
			Fields: map[string][]string{"token": {"is revoked: its app gets no more webhooks"}}}
	}
	if err := in.validate(true); err != nil {
		return Subscription{}, err
	}
	allowed, err := s.TopicsFor(t, tok)
	if err != nil {
		return Subscription{}, err
	}
	if !slices.Contains(allowed, *in.Topic) {
		obj := Topics[*in.Topic]
		msg := "needs the token to have the read_" + obj + " or write_" + obj + " scope; create a token with it"
		return Subscription{}, &errs.Error{Kind: errs.Invalid, Message: "topic " + *in.Topic + " " + msg,
			Fields: map[string][]string{"topic": {msg}}}
	}
	return s.Subscribe(ctx, t, tok.ID, in)
}

// ReplayMissed asks, through Replay, for what token's subscription id
// missed while failing to be sent again: every delivery not delivered that
// was made after the last one that was (ReplayRequest.Missed, which the
// Admin API's replay.json offers as "missed": true). The dashboard offers it
// when a disabled subscription is turned on.
//
// Errors: NotFound, Invalid (more than Replay takes at once).
func (s *Service) ReplayMissed(ctx context.Context, t *tenant.Tenant, token, id int64) (int, error) {
	return s.Replay(ctx, t, token, id, ReplayRequest{Missed: true})
}
