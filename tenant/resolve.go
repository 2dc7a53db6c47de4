package tenant

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// changesChannel carries the ids of stores whose directory row changed, so
// that every process drops what it cached of them.
const changesChannel = "storefleet:tenant-changes"

// changed tells every process that store t changed. When Redis is down the
// other processes see the change when their cache entry expires.
func (d *DB) changed(ctx context.Context, t *Tenant) {
	if d.rdb == nil {
		return
	}
	if err := d.rdb.Publish(ctx, changesChannel, t.ID.String()).Err(); err != nil {
		d.log.WarnContext(ctx, "cannot announce store change; other processes see it when their cache expires",
			"tenant", t.ID, "err", err)
	}
}

// HostKind says what a request's host is for.
type HostKind int

// The kinds of host.
const (
	HostUnknown   HostKind = iota // nothing of ours: 404
	HostDashboard                 // app.<base domain> (and the bare base domain)
	HostStore                     // a store's subdomain
)

// Resolver maps request hosts to stores, through a cache that every process
// keeps and that Redis pub/sub invalidates across the fleet. Entries also
// expire after a short TTL, in case an invalidation is lost.
type Resolver struct {
	db         *DB
	baseDomain string
	ttl        time.Duration

	mu      sync.Mutex
	entries map[string]cacheEntry // by slug
	gen     uint64                // bumped by every invalidation
	flight  singleflight.Group
}

type cacheEntry struct {
	t       *Tenant // nil: no such store
	expires time.Time
}

// maxCacheEntries bounds the cache, so a flood of made-up hosts cannot grow
// it without end; when full it starts over.
const maxCacheEntries = 100_000

// NewResolver returns a resolver for stores under baseDomain (for example
// "localhost" or "storefleet.app"). Call Run to receive invalidations.
func NewResolver(db *DB, baseDomain string, ttl time.Duration) *Resolver {
	return &Resolver{db: db, baseDomain: strings.ToLower(baseDomain), ttl: ttl, entries: map[string]cacheEntry{}}
}

// Kind classifies host and, for a store's host, returns its slug.
func (r *Resolver) Kind(host string) (HostKind, string) {
	host = normalizeHost(host)
	switch {
	case host == r.baseDomain || host == "app."+r.baseDomain:
		return HostDashboard, ""
	case strings.HasSuffix(host, "."+r.baseDomain):
		slug := strings.TrimSuffix(host, "."+r.baseDomain)
		if ValidateSlug(slug) != nil {
			return HostUnknown, ""
		}
		return HostStore, slug
	}
	return HostUnknown, ""
}

// normalizeHost lowercases host and drops its port and any trailing dot.
// Hosts arrive in ASCII (internationalised names in their xn-- form); any
// other byte makes the host unknown, so that Unicode case folding cannot
// turn a look-alike into a store's name.
func normalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for i := range len(host) {
		if host[i] >= utf8.RuneSelf {
			return ""
		}
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// Store returns the store that serves slug.
//
// Errors: NotFound (ErrTenantNotFound), Forbidden (ErrSuspended, with the
// store returned too, so its name can be shown).
func (r *Resolver) Store(ctx context.Context, slug string) (*Tenant, error) {
	now := time.Now()
	r.mu.Lock()
	e, ok := r.entries[slug]
	r.mu.Unlock()
	if !ok || now.After(e.expires) {
		v, err, _ := r.flight.Do(slug, func() (any, error) {
			r.mu.Lock()
			gen := r.gen
			r.mu.Unlock()
			// Other requests wait on this lookup: it must not end with the
			// first caller's request.
			lookupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			t, err := r.db.TenantBySlug(lookupCtx, slug)
			if err != nil && !errors.Is(err, ErrTenantNotFound) {
				return nil, err
			}
			e := cacheEntry{t: t, expires: time.Now().Add(r.ttl)}
			r.mu.Lock()
			if len(r.entries) >= maxCacheEntries {
				clear(r.entries)
			}
			// An invalidation that arrived during the read may describe a
			// change the read missed: answer this once, but do not keep it.
			if r.gen == gen {
				r.entries[slug] = e
			}
			r.mu.Unlock()
			return e, nil
		})
		if err != nil {
			return nil, err
		}
		e = v.(cacheEntry)
	}
	switch {
	case e.t == nil:
		return nil, ErrTenantNotFound
	case e.t.Status == Suspended:
		return e.t, ErrSuspended
	}
	return e.t, nil
}

// Run listens for store changes until ctx ends, dropping changed stores from
// the cache. Whenever it (re)subscribes it drops everything, since changes may
// have been missed while it was away.
func (r *Resolver) Run(ctx context.Context, rdb *redis.Client) error {
	sub := rdb.Subscribe(ctx, changesChannel)
	// A blocked Receive does not watch ctx; closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { sub.Close() })
	defer stop()
	defer sub.Close()
	for {
		msg, err := sub.Receive(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// go-redis reconnects on the next Receive; pause so a Redis outage
			// is not a busy loop.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			r.forget(func(cacheEntry) bool { return true })
		case *redis.Message:
			id, err := ParseID(m.Payload)
			if err != nil {
				continue
			}
			// A new store may have been cached as missing: drop those too.
			r.forget(func(e cacheEntry) bool { return e.t == nil || e.t.ID == id })
		}
	}
}

func (r *Resolver) forget(match func(cacheEntry) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	for k, e := range r.entries {
		if match(e) {
			delete(r.entries, k)
		}
	}
}
