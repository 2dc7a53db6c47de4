// Package rbac is Storefleet's one enforcement point: staff (by role) and
// API tokens (by scope) are both checked by the same casbin model with
// domains, one domain per store.
//
// The policy stays small as stores grow: permission rules (role or scope →
// object, action) are shared by every store and seeded by migrations; only
// assignments (subject → role or scope, in a store) are stored per store. The
// rules live in platform.casbin_rule and load through casbin's gorm adapter.
// Assignments are written in the same transaction as what they describe (a
// token, a membership) with Assign and Unassign; after the commit, Publish
// applies the change here and announces it on Redis, and every process's Run
// applies it too. Each process also reloads the whole policy on a timer, in
// case an announcement was lost.
package rbac

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
)

// modelText: a request (subject, store, object, action) is allowed when the
// subject holds, in that store, a role or scope that a shared rule allows.
const modelText = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && (p.obj == "*" || r.obj == p.obj) && (p.act == "*" || r.act == p.act)
`

// The table the rules live in (see migrations/platform).
const table = "platform.casbin_rule"

// changesChannel carries "reload" to every process.
const changesChannel = "storefleet:rbac-changes"

// Actions.
const (
	Read  = "read"
	Write = "write"
)

// Store is the casbin domain of a store.
func Store(id int64) string { return "store:" + strconv.FormatInt(id, 10) }

// Account is the subject of a merchant account.
func Account(id int64) string { return "account:" + strconv.FormatInt(id, 10) }

// Token is the subject of an API token.
func Token(id int64) string { return "token:" + strconv.FormatInt(id, 10) }

// Role is the casbin name of a staff role (owner, admin, staff, …).
func Role(name string) string { return "role:" + name }

// Scope is the casbin name of an API scope (read_products, …).
func Scope(name string) string { return "scope:" + name }

// Enforcer checks requests against the policy.
type Enforcer struct {
	e   *casbin.SyncedEnforcer
	rdb *redis.Client
	log *slog.Logger
}

// New loads the policy from db (the control database) and returns an
// enforcer. Call Run to keep it current.
func New(db *gorm.DB, rdb *redis.Client, log *slog.Logger) (*Enforcer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("rbac model: %w", err)
	}
	adb := db.Session(&gorm.Session{})
	gormadapter.TurnOffAutoMigrate(adb) // the table comes from migrations
	a, err := gormadapter.NewAdapterByDBUseTableName(adb, "", table)
	if err != nil {
		return nil, fmt.Errorf("rbac adapter: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m, a)
	if err != nil {
		return nil, fmt.Errorf("load rbac policy: %w", err)
	}
	e.EnableAutoSave(false) // rules are written by Assign/Unassign, in the caller's transaction
	return &Enforcer{e: e, rdb: rdb, log: log}, nil
}

// Allowed reports whether subject may do act on obj in store.
func (e *Enforcer) Allowed(subject, store, obj, act string) (bool, error) {
	ok, err := e.e.Enforce(subject, store, obj, act)
	if err != nil {
		return false, fmt.Errorf("rbac check: %w", err)
	}
	return ok, nil
}

// Reload reads the whole policy again.
func (e *Enforcer) Reload() error {
	if err := e.e.LoadPolicy(); err != nil {
		return fmt.Errorf("reload rbac policy: %w", err)
	}
	return nil
}

// Rule is one assignment: a subject holds a role or scope in a store.
type Rule struct {
	Subject string `json:"sub"`
	Role    string `json:"role"`
	Store   string `json:"store"`
}

// Change is what a committed transaction did to the assignments, or, with
// Reload, to the permission rules (a store's custom role made or deleted,
// rare enough that every process simply reloads the whole policy).
type Change struct {
	Added   []Rule `json:"added,omitempty"`
	Removed []Rule `json:"removed,omitempty"`
	Reload  bool   `json:"reload,omitempty"`
}

func toPolicies(rules []Rule) [][]string {
	out := make([][]string, len(rules))
	for i, r := range rules {
		out[i] = []string{r.Subject, r.Role, r.Store}
	}
	return out
}

// Apply makes a change to this process's policy. Applying it twice is
// harmless.
func (e *Enforcer) Apply(c Change) error {
	if c.Reload {
		return e.Reload()
	}
	if len(c.Removed) > 0 {
		if _, err := e.e.SelfRemovePolicies("g", "g", toPolicies(c.Removed)); err != nil {
			return fmt.Errorf("apply rbac change: %w", err)
		}
	}
	for _, p := range toPolicies(c.Added) {
		// One at a time: casbin refuses a whole batch if one rule is known.
		if _, err := e.e.SelfAddPolicy("g", "g", p); err != nil {
			return fmt.Errorf("apply rbac change: %w", err)
		}
	}
	return nil
}

// Publish applies a committed change here and announces it to every other
// process. If the announcement fails, the others catch up at their next
// periodic reload.
func (e *Enforcer) Publish(ctx context.Context, c Change) error {
	if len(c.Added)+len(c.Removed) == 0 && !c.Reload {
		return nil
	}
	if err := e.Apply(c); err != nil {
		return err
	}
	msg, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := e.rdb.Publish(ctx, changesChannel, msg).Err(); err != nil {
		return fmt.Errorf("announce rbac change: %w", err)
	}
	return nil
}

// Run applies every change another process announces, and reloads the whole
// policy every interval in case an announcement was lost, until ctx ends.
func (e *Enforcer) Run(ctx context.Context, interval time.Duration) {
	sub := e.rdb.Subscribe(ctx, changesChannel)
	stop := context.AfterFunc(ctx, func() { sub.Close() })
	defer stop()
	msgs := sub.Channel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			var c Change
			if err = json.Unmarshal([]byte(m.Payload), &c); err == nil {
				err = e.Apply(c)
			}
		case <-tick.C:
			err = e.Reload()
		}
		if err != nil {
			e.log.WarnContext(ctx, "rbac policy update failed; the periodic reload will catch up", "err", err)
		}
	}
}

// Assign gives subject the role or scope in store, inside tx.
func Assign(tx *gorm.DB, subject, roleOrScope, store string) (Rule, error) {
	err := tx.Exec(`INSERT INTO `+table+` (ptype, v0, v1, v2) VALUES ('g', ?, ?, ?) ON CONFLICT DO NOTHING`,
		subject, roleOrScope, store).Error
	if err != nil {
		return Rule{}, fmt.Errorf("assign %s to %s in %s: %w", roleOrScope, subject, store, err)
	}
	return Rule{Subject: subject, Role: roleOrScope, Store: store}, nil
}

// Unassign takes every role and scope from subject in store, inside tx.
func Unassign(tx *gorm.DB, subject, store string) ([]Rule, error) {
	var rules []Rule
	err := tx.Raw(`DELETE FROM `+table+` WHERE ptype = 'g' AND v0 = ? AND v2 = ? RETURNING v0 AS subject, v1 AS role, v2 AS store`,
		subject, store).Scan(&rules).Error
	if err != nil {
		return nil, fmt.Errorf("unassign %s in %s: %w", subject, store, err)
	}
	return rules, nil
}

// UnassignStore takes every assignment in store, inside tx (the store is
// being deleted).
func UnassignStore(tx *gorm.DB, store string) ([]Rule, error) {
	var rules []Rule
	err := tx.Raw(`DELETE FROM `+table+` WHERE ptype = 'g' AND v2 = ? RETURNING v0 AS subject, v1 AS role, v2 AS store`, store).Scan(&rules).Error
	if err != nil {
		return nil, fmt.Errorf("unassign everyone in %s: %w", store, err)
	}
	return rules, nil
}
