package storefront

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/storefleet/storefleet/tenant"
)

// pageCache keeps the pages anonymous shoppers see, per store and path. A
// store's entries are dropped, on every server, by the store's change
// announcements (tenant.StorefrontChanges, relayed to Changed): each store
// has a generation that a change bumps, and a key holds the generation read
// before the page's data was, so a page built from data older than a change
// is never found under the newer generation.
type pageCache struct {
	entries *lru.Cache[pageKey, cachedPage]
	ttl     time.Duration

	mu    sync.Mutex
	gens  map[tenant.ID]uint64
	epoch uint64 // bumped when any store may have changed unannounced
}

type pageKey struct {
	store      tenant.ID
	gen, epoch uint64
	uri        string
}

type cachedPage struct {
	status int
	body   []byte
	at     time.Time
}

// maxCachedURI keeps long, made-up query strings from filling the cache.
const maxCachedURI = 256

func newPageCache(size int, ttl time.Duration) *pageCache {
	c, err := lru.New[pageKey, cachedPage](size)
	if err != nil {
		panic(err) // size is a positive constant
	}
	return &pageCache{entries: c, ttl: ttl, gens: map[tenant.ID]uint64{}}
}

// key is where store t's page uri lives now.
func (c *pageCache) key(t tenant.ID, uri string) pageKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return pageKey{store: t, gen: c.gens[t], epoch: c.epoch, uri: uri}
}

func (c *pageCache) get(k pageKey) (cachedPage, bool) {
	p, ok := c.entries.Get(k)
	if !ok || time.Since(p.at) > c.ttl {
		return cachedPage{}, false
	}
	return p, true
}

func (c *pageCache) put(k pageKey, status int, body []byte) {
	c.entries.Add(k, cachedPage{status: status, body: body, at: time.Now()})
}

// changed drops store id's pages (every store's, for id 0).
func (c *pageCache) changed(id tenant.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id == 0 {
		c.epoch++
		return
	}
	c.gens[id]++
}

// Changed tells the storefront that store id's data changed (0: any
// store's), so that no server shows a cached page older than the change.
// Wire it to tenant.DB.WatchChanges with tenant.StorefrontChanges.
func (h *Handler) Changed(id tenant.ID) { h.pages.changed(id) }
