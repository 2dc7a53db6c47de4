package tenant

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/ratelimit"
)

// Plan is what a store is on, and the limits that come with it.
type Plan struct {
	Code      string
	Name      string
	APIBucket int     // Admin API requests a token's bucket holds
	APILeak   float64 // requests per second the bucket drains
}

// ErrPlanNotFound is for a plan code that does not exist.
var ErrPlanNotFound = errs.E(errs.NotFound, "plan not found")

// planTTL bounds how long a process keeps a plan's limits after an operator
// changes them elsewhere; a change made by this process applies at once.
const planTTL = 10 * time.Second

// planCache holds the plans, read all at once: there are a handful.
type planCache struct {
	mu      sync.Mutex
	plans   map[string]Plan
	fetched time.Time
}

type planRow struct {
	Code          string  `gorm:"column:code"`
	Name          string  `gorm:"column:name"`
	APIRateBucket int     `gorm:"column:api_rate_bucket"`
	APIRateLeak   float64 `gorm:"column:api_rate_leak"`
}

// Plans lists the plans by code.
func (d *DB) Plans(ctx context.Context) ([]Plan, error) {
	var rows []planRow
	err := d.control.WithContext(ctx).Raw(`SELECT code, name, api_rate_bucket, api_rate_leak FROM platform.plans ORDER BY api_rate_bucket, code`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	out := make([]Plan, len(rows))
	for i, r := range rows {
		out[i] = Plan{Code: r.Code, Name: r.Name, APIBucket: r.APIRateBucket, APILeak: r.APIRateLeak}
	}
	return out, nil
}

// Plan returns plan code, from a cache refreshed every planTTL.
//
// Errors: NotFound (ErrPlanNotFound).
func (d *DB) Plan(ctx context.Context, code string) (Plan, error) {
	c := &d.plans
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plans == nil || time.Since(c.fetched) > planTTL {
		ps, err := d.Plans(ctx)
		if err != nil {
			return Plan{}, err
		}
		c.plans = make(map[string]Plan, len(ps))
		for _, p := range ps {
			c.plans[p.Code] = p
		}
		c.fetched = time.Now()
	}
	p, ok := c.plans[code]
	if !ok {
		return Plan{}, ErrPlanNotFound
	}
	return p, nil
}

// APILimit is the Admin API bucket of store t's plan.
func (d *DB) APILimit(ctx context.Context, t *Tenant) (ratelimit.Bucket, error) {
	p, err := d.Plan(ctx, t.Plan)
	if err != nil {
		return ratelimit.Bucket{}, fmt.Errorf("limits of store %s: %w", t.Slug, err)
	}
	return ratelimit.Bucket{Capacity: p.APIBucket, Leak: p.APILeak}, nil
}

var planCode = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// SavePlan creates plan p, or changes its name and limits.
//
// Errors: Invalid (with per-field messages).
func (d *DB) SavePlan(ctx context.Context, p Plan) error {
	f := errs.Fields{}
	if !planCode.MatchString(p.Code) {
		f.Add("code", "must be 1 to 32 lowercase letters, digits, - or _, starting with a letter")
	}
	if p.Name == "" {
		p.Name = p.Code
	}
	if p.APIBucket < 1 || p.APIBucket > 100_000 {
		f.Add("api_bucket", "must be from 1 to 100000")
	}
	if !(p.APILeak > 0 && p.APILeak <= 10_000) {
		f.Add("api_leak", "must be more than 0 and at most 10000 per second")
	}
	if err := f.Err(); err != nil {
		return err
	}
	err := d.control.WithContext(ctx).Exec(`INSERT INTO platform.plans (code, name, api_rate_bucket, api_rate_leak) VALUES (?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, api_rate_bucket = excluded.api_rate_bucket,
			api_rate_leak = excluded.api_rate_leak, updated_at = now()`, p.Code, p.Name, p.APIBucket, p.APILeak).Error
	if err != nil {
		return fmt.Errorf("save plan %s: %w", p.Code, err)
	}
	d.plans.mu.Lock()
	d.plans.plans = nil
	d.plans.mu.Unlock()
	return nil
}

// SetPlan moves store id to plan code, and tells every process to forget
// what it cached of the store.
//
// Errors: NotFound (the store, or ErrPlanNotFound).
func (d *DB) SetPlan(ctx context.Context, id ID, code string) (*Tenant, error) {
	var rows []tenantRow
	err := d.control.WithContext(ctx).Raw(`UPDATE platform.tenants SET plan = ?, updated_at = now() WHERE id = ? RETURNING `+tenantColumns, code, int64(id)).Scan(&rows).Error
	if pg.Code(err) == pg.ForeignKeyViolation {
		return nil, ErrPlanNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("set store %d plan: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, ErrTenantNotFound
	}
	t := rows[0].toTenant()
	d.changed(ctx, t)
	return t, nil
}
