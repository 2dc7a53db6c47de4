package storefront

import (
	"fmt"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/themes"
)

// ErrThemeNotFound is for a theme id the store does not have.
var ErrThemeNotFound = errs.E(errs.NotFound, "theme not found")

// themeRow is a store's theme as its table holds it.
type themeRow struct {
	ID      int64   `gorm:"column:id"`
	Name    string  `gorm:"column:name"`
	Role    string  `gorm:"column:role"`
	Builtin *string `gorm:"column:builtin"`
	Version int64   `gorm:"column:version"`
}

// findTheme returns the store's theme id, or its published one when id is 0.
func findTheme(tx *gorm.DB, id int64) (themeRow, error) {
	q, arg := `SELECT id, name, role, builtin, version FROM themes WHERE role = 'main'`, []any{}
	if id != 0 {
		q, arg = `SELECT id, name, role, builtin, version FROM themes WHERE id = ?`, []any{id}
	}
	var rows []themeRow
	if err := tx.Raw(q, arg...).Scan(&rows).Error; err != nil {
		return themeRow{}, fmt.Errorf("find theme: %w", err)
	}
	if len(rows) == 0 {
		return themeRow{}, ErrThemeNotFound
	}
	return rows[0], nil
}

// themeKey names one version of one store's theme in the cache.
type themeKey struct {
	store   tenant.ID
	theme   int64
	version int64
}

// themeCache keeps parsed themes: parsing a theme takes milliseconds, a
// page renders in a fraction of one. A key holds the theme's version, so a
// change to the theme (which bumps it) is never served from an old entry.
type themeCache struct {
	parsed   *lru.Cache[themeKey, *themes.Theme]
	mu       sync.Mutex
	builtins map[string]map[string][]byte // built-in themes' files, by name
}

func newThemeCache(size int) *themeCache {
	c, err := lru.New[themeKey, *themes.Theme](size)
	if err != nil {
		panic(err) // size is a positive constant
	}
	return &themeCache{parsed: c, builtins: map[string]map[string][]byte{}}
}

// builtinFiles returns the files of built-in theme name.
func (c *themeCache) builtinFiles(name string) (map[string][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.builtins[name]; ok {
		return f, nil
	}
	th, err := themes.LoadBuiltin(name)
	if err != nil {
		return nil, err
	}
	c.builtins[name] = th.Files()
	return c.builtins[name], nil
}

// load returns store t's theme row, parsed: from the cache, or built from
// the built-in base and the store's own files in tx.
func (c *themeCache) load(tx *gorm.DB, t *tenant.Tenant, row themeRow) (*themes.Theme, error) {
	key := themeKey{t.ID, row.ID, row.Version}
	if th, ok := c.parsed.Get(key); ok {
		return th, nil
	}
	files, err := themeFiles(tx, c, row)
	if err != nil {
		return nil, err
	}
	th, err := themes.FromMap(files)
	if err != nil {
		return nil, fmt.Errorf("theme %d of store %s: %w", row.ID, t.Slug, err)
	}
	c.parsed.Add(key, th)
	return th, nil
}

// themeFiles returns a theme's whole set of files: its built-in base, if
// any, with the store's files over it (a NULL value deletes a base file).
func themeFiles(tx *gorm.DB, c *themeCache, row themeRow) (map[string][]byte, error) {
	files := map[string][]byte{}
	if row.Builtin != nil {
		base, err := c.builtinFiles(*row.Builtin)
		if err != nil {
			return nil, err
		}
		for k, v := range base {
			files[k] = v
		}
	}
	var own []struct {
		Key   string `gorm:"column:key"`
		Value []byte `gorm:"column:value"`
	}
	if err := tx.Raw(`SELECT key, value FROM theme_files WHERE theme_id = ?`, row.ID).Scan(&own).Error; err != nil {
		return nil, fmt.Errorf("read theme files: %w", err)
	}
	for _, f := range own {
		if f.Value == nil {
			delete(files, f.Key)
			continue
		}
		files[f.Key] = f.Value
	}
	return files, nil
}
