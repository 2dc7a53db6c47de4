package storefront

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/themes"
)

// Themes is a store's themes as merchants and partners manage them, with
// Shopify's themes and assets resources: add a built-in theme or upload
// one, edit its files, preview it, publish it. Every change to a theme's
// files is checked against the whole theme first (themes.FromMap), so a
// theme in the database always loads; and every change bumps its version,
// so no server renders an old one from its cache.
type Themes struct {
	db      *tenant.DB
	cache   *themeCache
	fetch   *http.Client
	urls    tenant.URLs
	preview previewSigner
}

// Admin returns the storefront's themes service, sharing its cache of
// parsed themes; fetch downloads themes and assets given by URL (see
// internal/safehttp). It is the Admin API resource for themes.json.
func (h *Handler) Admin(fetch *http.Client) *Themes {
	return &Themes{db: h.db, cache: h.themes, fetch: fetch, urls: h.urls, preview: h.previewSigner()}
}

// NewThemes returns a themes service of its own, for tools that manage
// themes without serving storefronts (the CLI). cfg must be the servers'
// for the preview links it makes to work there; fetch may be nil when no
// theme is given by URL.
func NewThemes(db *tenant.DB, cfg Config, fetch *http.Client) *Themes {
	return &Themes{db: db, cache: newThemeCache(16), fetch: fetch, urls: cfg.URLs, preview: newPreviewSigner(cfg.CartKey)}
}

// Theme roles, as Shopify names them: the published theme is "main".
const (
	RoleMain        = "main"
	RoleUnpublished = "unpublished"
)

// MaxThemes is how many themes a store may keep, as on Shopify.
const MaxThemes = 20

// Errors of the themes service.
var (
	ErrAssetNotFound = errs.E(errs.NotFound, "asset not found")
	errTooManyThemes = &errs.Error{Kind: errs.Invalid, Message: fmt.Sprintf("a store can keep at most %d themes; delete one first", MaxThemes),
		Fields: map[string][]string{"theme": {fmt.Sprintf("limit reached: a store can keep at most %d themes; delete one first", MaxThemes)}}}
	errDeleteMain = &errs.Error{Kind: errs.Invalid, Message: "the published theme cannot be deleted; publish another theme first",
		Fields: map[string][]string{"theme": {"is published (role main) and cannot be deleted; publish another theme first"}}}
	errUnpublishMain = &errs.Error{Kind: errs.Invalid, Message: "role of the published theme changes only by publishing another theme",
		Fields: map[string][]string{"role": {"of the published theme changes only by publishing another theme"}}}
)

// Theme is one of a store's themes.
type Theme struct {
	ID        int64
	Name      string
	Role      string // RoleMain or RoleUnpublished
	Builtin   string // the built-in theme it is based on; "" for an uploaded theme
	Version   int64  // bumped by every change to its files
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewTheme is a theme to add: a built-in theme by name, or a zip archive —
// its bytes, or a URL to download it from. Name defaults to the theme's
// own (config/settings_schema.json), Role to RoleUnpublished.
type NewTheme struct {
	Name    string
	Role    string
	Builtin string
	Src     string
	Zip     []byte
}

// ThemeUpdate changes a theme; nil fields stay as they are. Role RoleMain
// publishes the theme.
type ThemeUpdate struct {
	Name *string
	Role *string
}

// Asset is one file of a theme. Value is set only when one asset is asked
// for.
type Asset struct {
	ThemeID   int64
	Key       string
	Value     []byte
	Size      int
	Checksum  string // MD5 of the content, hex, as Shopify's
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AssetWrite creates or replaces a theme file: with Value, with the content
// of the theme's file SourceKey, or with the file downloaded from Src.
type AssetWrite struct {
	Key       string
	Value     []byte
	SourceKey string
	Src       string
}

// keyPattern is what theme_files accepts as a key (see its CHECK), with no
// hidden files: the engine would skip them.
var keyPattern = regexp.MustCompile(`^(layout|templates|templates/customers|sections|snippets|assets|config|locales)/[A-Za-z0-9_-][A-Za-z0-9_.-]*$`)

const maxKeyLength = 255

// checkKey says what is wrong with a file key, or "".
func checkKey(key string) string {
	switch {
	case key == "":
		return "can't be blank"
	case len(key) > maxKeyLength:
		return fmt.Sprintf("is longer than %d characters", maxKeyLength)
	case !keyPattern.MatchString(key):
		return "must be a file in layout/, templates/, templates/customers/, sections/, snippets/, assets/, config/ or locales/, " +
			"named with letters, digits, _ . and - only"
	}
	return ""
}

// missingRequired lists the files a theme must have and files lacks: its
// layout and a home page template.
func missingRequired(files map[string][]byte) []error {
	var out []error
	if _, ok := files["layout/theme.liquid"]; !ok {
		out = append(out, &themes.Error{File: "layout/theme.liquid", Msg: "is missing; every theme needs it"})
	}
	_, liquid := files["templates/index.liquid"]
	_, json := files["templates/index.json"]
	if !liquid && !json {
		out = append(out, &themes.Error{File: "templates/index.liquid", Msg: "is missing (or templates/index.json); every theme needs a home page"})
	}
	return out
}

// checkTheme loads files as the storefront will, and checks what the
// storefront's table and pages need beyond what the engine does: keys it
// can store, and the required files. The error is Invalid, with every
// problem (file:line: message) under field.
func checkTheme(files map[string][]byte, field string) (*themes.Theme, error) {
	var problems []error
	for _, k := range slices.Sorted(maps.Keys(files)) {
		if msg := checkKey(k); msg != "" {
			problems = append(problems, &themes.Error{File: k, Msg: msg})
		}
	}
	problems = append(problems, missingRequired(files)...)
	if len(problems) > 0 {
		return nil, invalidTheme(field, errors.Join(problems...))
	}
	th, err := themes.FromMap(files)
	if err != nil {
		return nil, invalidTheme(field, err)
	}
	return th, nil
}

// maxProblems bounds the problems one answer lists.
const maxProblems = 50

// invalidTheme turns a theme's load error into an Invalid error listing
// each problem under field. The engine's errors describe the theme (file,
// line, what is wrong), never the server, so they are safe to show.
func invalidTheme(field string, err error) error {
	list := problemsOf(err)
	if len(list) > maxProblems {
		list = append(list[:maxProblems], fmt.Sprintf("and %d more problems", len(list)-maxProblems))
	}
	return &errs.Error{Kind: errs.Invalid, Message: field + " " + list[0], Fields: map[string][]string{field: list}, Err: err}
}

// problemsOf splits the errors.Join of a theme's problems into one message
// each; any other error is one problem.
func problemsOf(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		children := j.Unwrap()
		msgs := make([]string, len(children))
		for i, c := range children {
			msgs[i] = c.Error()
		}
		if strings.Join(msgs, "\n") == err.Error() { // a join, not fmt's %w: %w
			var out []string
			for _, c := range children {
				out = append(out, problemsOf(c)...)
			}
			return out
		}
	}
	return []string{err.Error()}
}

func (in *NewTheme) validate() error {
	f := errs.Fields{}
	in.Name = strings.TrimSpace(in.Name)
	if utf8.RuneCountInString(in.Name) > 100 {
		f.Add("name", "is too long (maximum is 100 characters)")
	}
	switch in.Role {
	case "":
		in.Role = RoleUnpublished
	case RoleMain, RoleUnpublished:
	default:
		f.Add("role", "must be main or unpublished")
	}
	sources := 0
	for _, s := range []bool{in.Builtin != "", in.Src != "", in.Zip != nil} {
		if s {
			sources++
		}
	}
	switch {
	case sources == 0:
		f.Add("src", "can't be blank: give the URL of a theme's zip archive, or builtin: the name of a built-in theme")
	case sources > 1:
		f.Add("src", "give one of src (a zip archive's URL) and builtin, not both")
	case in.Builtin != "" && !isBuiltin(in.Builtin):
		f.Add("builtin", "must be one of %s", strings.Join(builtinNames(), ", "))
	case in.Src != "":
		if u, err := url.Parse(in.Src); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			f.Add("src", "must be an http or https URL of a zip archive")
		}
	}
	return f.Err()
}

func isBuiltin(name string) bool { return slices.Contains(builtinNames(), name) }

func builtinNames() []string {
	var out []string
	for _, b := range themes.Builtin() {
		out = append(out, b.Name)
	}
	return out
}

// Themes lists store t's themes, the published one first.
func (s *Themes) Themes(ctx context.Context, t *tenant.Tenant) ([]Theme, error) {
	var rows []themeRecord
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT ` + themeColumns + ` FROM themes ORDER BY role = 'main' DESC, id`).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("list themes: %w", err)
	}
	out := make([]Theme, len(rows))
	for i, r := range rows {
		out[i] = r.toTheme()
	}
	return out, nil
}

// Theme returns store t's theme id.
//
// Errors: NotFound.
func (s *Themes) Theme(ctx context.Context, t *tenant.Tenant, id int64) (Theme, error) {
	var row themeRecord
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		row, err = findThemeRecord(tx, id, false)
		return err
	})
	return row.toTheme(), err
}

// CreateTheme adds a theme to store t: a built-in one, or an archive,
// checked whole (themes.FromZip, then what the storefront needs) before
// anything is stored. With Role RoleMain it is published in the same
// transaction.
//
// Errors: Invalid (the input; a theme that does not load, every problem
// named by file and line under "src"; an archive that cannot be
// downloaded; more than MaxThemes themes).
func (s *Themes) CreateTheme(ctx context.Context, t *tenant.Tenant, in NewTheme) (Theme, error) {
	if err := in.validate(); err != nil {
		return Theme{}, err
	}
	var files map[string][]byte
	var parsed *themes.Theme
	if in.Builtin == "" {
		zip := in.Zip
		if in.Src != "" {
			var err error
			if zip, err = s.download(ctx, in.Src, themes.MaxThemeBytes+1<<20); err != nil {
				return Theme{}, fieldError("src", err)
			}
		}
		th, err := themes.FromZip(bytes.NewReader(zip), int64(len(zip)))
		if err != nil {
			return Theme{}, invalidTheme("src", err)
		}
		files = th.Files()
		if parsed, err = checkTheme(files, "src"); err != nil {
			return Theme{}, err
		}
		if in.Name == "" {
			in.Name = strings.TrimSpace(th.Name())
			if r := []rune(in.Name); len(r) > 100 {
				in.Name = string(r[:100])
			}
		}
	}
	if in.Name == "" {
		in.Name = "Untitled theme"
		if in.Builtin != "" {
			in.Name = strings.ToUpper(in.Builtin[:1]) + in.Builtin[1:]
		}
	}
	var row themeRecord
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		// Two uploads at once must not both see 19 and make 21: theme
		// creations take turns (a lock that conflicts with itself).
		if err := tx.Exec(`LOCK TABLE themes IN SHARE ROW EXCLUSIVE MODE`).Error; err != nil {
			return fmt.Errorf("lock themes: %w", err)
		}
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM themes`).Scan(&n).Error; err != nil {
			return fmt.Errorf("count themes: %w", err)
		}
		if n >= MaxThemes {
			return errTooManyThemes
		}
		var builtin *string
		if in.Builtin != "" {
			builtin = &in.Builtin
		}
		if err := tx.Raw(`INSERT INTO themes (name, role, builtin) VALUES (?, 'unpublished', ?) RETURNING `+themeColumns,
			in.Name, builtin).Scan(&row).Error; err != nil {
			return fmt.Errorf("insert theme: %w", err)
		}
		if err := insertThemeFiles(tx, row.ID, files); err != nil {
			return err
		}
		if parsed != nil {
			s.cache.parsed.Add(themeKey{t.ID, row.ID, row.Version}, parsed)
		}
		if in.Role == RoleMain {
			var err error
			if row, err = s.publish(tx, t, row.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Theme{}, err
	}
	return row.toTheme(), nil
}

// UpdateTheme renames store t's theme id, or publishes it (Role RoleMain):
// in one transaction the published theme becomes unpublished and this one
// main, so a shopper's page shows one or the other, whole. A theme that no
// longer loads is not published.
//
// Errors: NotFound, Invalid (name, role; unpublishing the published theme
// other than by publishing another; a theme that does not load),
// Conflict (another publish of the store at the same moment).
func (s *Themes) UpdateTheme(ctx context.Context, t *tenant.Tenant, id int64, up ThemeUpdate) (Theme, error) {
	f := errs.Fields{}
	if up.Name != nil {
		n := strings.TrimSpace(*up.Name)
		up.Name = &n
		switch {
		case n == "":
			f.Add("name", "can't be blank")
		case utf8.RuneCountInString(n) > 100:
			f.Add("name", "is too long (maximum is 100 characters)")
		}
	}
	if up.Role != nil && *up.Role != RoleMain && *up.Role != RoleUnpublished {
		f.Add("role", "must be main or unpublished")
	}
	if err := f.Err(); err != nil {
		return Theme{}, err
	}
	var row themeRecord
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		// Publishing locks every theme row first, in id order; anything else
		// locks the one row. Either way no two changes of a store's themes
		// wait for each other in a circle.
		if up.Role != nil && *up.Role == RoleMain {
			if row, err = s.publish(tx, t, id); err != nil {
				return err
			}
		} else if row, err = findThemeRecord(tx, id, true); err != nil {
			return err
		}
		if up.Role != nil && *up.Role == RoleUnpublished && row.Role == RoleMain {
			return errUnpublishMain
		}
		if up.Name != nil && *up.Name != row.Name {
			if err := tx.Raw(`UPDATE themes SET name = ?, updated_at = now() WHERE id = ? RETURNING `+themeColumns, *up.Name, id).Scan(&row).Error; err != nil {
				return fmt.Errorf("rename theme: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Theme{}, err
	}
	return row.toTheme(), nil
}

// publish makes theme id the published one, in tx: every theme row is
// locked (so concurrent publishes take turns, and each sees the other's
// result), the theme is loaded (one that fails to is refused), then the old
// main theme is demoted before the new one is promoted, so the one-main
// index holds at every statement.
func (s *Themes) publish(tx *gorm.DB, t *tenant.Tenant, id int64) (themeRecord, error) {
	var ids []int64
	if err := tx.Raw(`SELECT id FROM themes ORDER BY id FOR UPDATE`).Scan(&ids).Error; err != nil {
		return themeRecord{}, fmt.Errorf("lock themes: %w", err)
	}
	row, err := findThemeRecord(tx, id, false)
	if err != nil {
		return themeRecord{}, err
	}
	if row.Role == RoleMain {
		return row, nil
	}
	files, err := themeFiles(tx, s.cache, row.themeRow())
	if err != nil {
		return themeRecord{}, err
	}
	parsed, err := checkTheme(files, "theme")
	if err != nil {
		return themeRecord{}, err
	}
	// Shoppers will ask for it at once; a rollback leaves an entry no one asks for.
	s.cache.parsed.Add(themeKey{t.ID, row.ID, row.Version}, parsed)
	if err := tx.Exec(`UPDATE themes SET role = 'unpublished', updated_at = now() WHERE role = 'main'`).Error; err != nil {
		return themeRecord{}, fmt.Errorf("unpublish theme: %w", err)
	}
	err = tx.Raw(`UPDATE themes SET role = 'main', updated_at = now() WHERE id = ? RETURNING `+themeColumns, id).Scan(&row).Error
	if pg.Code(err) == pg.UniqueViolation {
		return themeRecord{}, errs.Wrap(errs.Conflict, err, "another theme was published at the same moment; try again")
	}
	if err != nil {
		return themeRecord{}, fmt.Errorf("publish theme: %w", err)
	}
	return row, nil
}

// DeleteTheme deletes store t's theme id with its files and returns what
// it was. The published theme cannot be deleted.
//
// Errors: NotFound, Invalid (the published theme).
func (s *Themes) DeleteTheme(ctx context.Context, t *tenant.Tenant, id int64) (Theme, error) {
	var row themeRecord
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if row, err = findThemeRecord(tx, id, true); err != nil {
			return err
		}
		if row.Role == RoleMain {
			return errDeleteMain
		}
		if err := tx.Exec(`DELETE FROM themes WHERE id = ?`, id).Error; err != nil {
			return fmt.Errorf("delete theme: %w", err)
		}
		return nil
	})
	if err != nil {
		return Theme{}, err
	}
	return row.toTheme(), nil
}

// Assets lists the files of store t's theme id, by key, without their
// content.
//
// Errors: NotFound (the theme).
func (s *Themes) Assets(ctx context.Context, t *tenant.Tenant, themeID int64) (Theme, []Asset, error) {
	var row themeRecord
	var out []Asset
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if row, err = findThemeRecord(tx, themeID, false); err != nil {
			return err
		}
		byKey := map[string]Asset{}
		if row.Builtin != nil {
			base, err := s.cache.builtinFiles(*row.Builtin)
			if err != nil {
				return err
			}
			for k, v := range base {
				byKey[k] = Asset{ThemeID: row.ID, Key: k, Size: len(v), Checksum: checksum(v), CreatedAt: row.CreatedAt, UpdatedAt: row.CreatedAt}
			}
		}
		own, err := findThemeFileInfo(tx, row.ID)
		if err != nil {
			return err
		}
		for _, f := range own {
			if f.Checksum == nil {
				delete(byKey, f.Key)
				continue
			}
			created := f.UpdatedAt
			if b, ok := byKey[f.Key]; ok {
				created = b.CreatedAt
			}
			byKey[f.Key] = Asset{ThemeID: row.ID, Key: f.Key, Size: int(f.Size), Checksum: *f.Checksum, CreatedAt: created, UpdatedAt: f.UpdatedAt}
		}
		for _, k := range slices.Sorted(maps.Keys(byKey)) {
			out = append(out, byKey[k])
		}
		return nil
	})
	return row.toTheme(), out, err
}

// Asset returns the file key of store t's theme themeID, with its content.
//
// Errors: NotFound (the theme, the file).
func (s *Themes) Asset(ctx context.Context, t *tenant.Tenant, themeID int64, key string) (Theme, Asset, error) {
	var row themeRecord
	var a Asset
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if row, err = findThemeRecord(tx, themeID, false); err != nil {
			return err
		}
		a, err = s.findAsset(tx, row, key)
		return err
	})
	return row.toTheme(), a, err
}

// findAsset reads one file of theme row: the store's own, or its built-in
// base's.
func (s *Themes) findAsset(tx *gorm.DB, row themeRecord, key string) (Asset, error) {
	if checkKey(key) != "" {
		return Asset{}, ErrAssetNotFound
	}
	var own []struct {
		Value     []byte    `gorm:"column:value"`
		UpdatedAt time.Time `gorm:"column:updated_at"`
	}
	if err := tx.Raw(`SELECT value, updated_at FROM theme_files WHERE theme_id = ? AND key = ?`, row.ID, key).Scan(&own).Error; err != nil {
		return Asset{}, fmt.Errorf("read theme file: %w", err)
	}
	var base []byte
	if row.Builtin != nil {
		files, err := s.cache.builtinFiles(*row.Builtin)
		if err != nil {
			return Asset{}, err
		}
		base = files[key]
	}
	switch {
	case len(own) == 1 && own[0].Value == nil: // deleted from the base
		return Asset{}, ErrAssetNotFound
	case len(own) == 1:
		created := own[0].UpdatedAt
		if base != nil {
			created = row.CreatedAt
		}
		v := own[0].Value
		return Asset{ThemeID: row.ID, Key: key, Value: v, Size: len(v), Checksum: checksum(v), CreatedAt: created, UpdatedAt: own[0].UpdatedAt}, nil
	case base != nil:
		v := bytes.Clone(base)
		return Asset{ThemeID: row.ID, Key: key, Value: v, Size: len(v), Checksum: checksum(v), CreatedAt: row.CreatedAt, UpdatedAt: row.CreatedAt}, nil
	}
	return Asset{}, ErrAssetNotFound
}

// PutAsset creates or replaces a file of store t's theme themeID. The
// theme with the change is loaded whole first: a change that breaks it (a
// Liquid syntax error anywhere, invalid JSON, a file too large) is refused
// with every problem by file and line, and nothing changes. Writing one
// form of a template (templates/x.liquid) replaces the other
// (templates/x.json). The theme's version is bumped in the same
// transaction.
//
// Errors: NotFound (the theme; SourceKey), Invalid (key, value, the theme
// with the change, under "asset").
func (s *Themes) PutAsset(ctx context.Context, t *tenant.Tenant, themeID int64, w AssetWrite) (Theme, Asset, error) {
	f := errs.Fields{}
	if msg := checkKey(w.Key); msg != "" {
		f.Add("key", "%s", msg)
	}
	sources := 0
	for _, set := range []bool{w.Value != nil, w.SourceKey != "", w.Src != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		f.Add("asset", "needs exactly one of value, attachment, source_key and src")
	}
	if err := f.Err(); err != nil {
		return Theme{}, Asset{}, err
	}
	if w.Src != "" {
		if u, err := url.Parse(w.Src); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Theme{}, Asset{}, fieldError("src", errors.New("must be an http or https URL"))
		}
		var err error
		if w.Value, err = s.download(ctx, w.Src, themes.MaxFileBytes); err != nil {
			return Theme{}, Asset{}, fieldError("src", err)
		}
	}
	var row themeRecord
	var a Asset
	var parsed *themes.Theme
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if row, err = findThemeRecord(tx, themeID, true); err != nil {
			return err
		}
		files, err := themeFiles(tx, s.cache, row.themeRow())
		if err != nil {
			return err
		}
		value := w.Value
		if w.SourceKey != "" {
			src, ok := files[w.SourceKey]
			if !ok {
				return &errs.Error{Kind: errs.Invalid, Message: "source_key is not a file of this theme",
					Fields: map[string][]string{"source_key": {"is not a file of this theme"}}}
			}
			value = bytes.Clone(src)
		}
		if value == nil {
			value = []byte{}
		}
		files[w.Key] = value
		// A template has one form: writing templates/x.liquid replaces
		// templates/x.json and the reverse, as converting a template does
		// (the engine refuses both, and the home page's last form cannot
		// be deleted first).
		twin := templateTwin(w.Key)
		if _, ok := files[twin]; !ok {
			twin = ""
		}
		delete(files, twin)
		if parsed, err = checkTheme(files, "asset"); err != nil {
			return err
		}
		if twin != "" {
			if err := s.removeFile(tx, row, twin); err != nil {
				return err
			}
		}
		if err := tx.Exec(`INSERT INTO theme_files (theme_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (theme_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, row.ID, w.Key, value).Error; err != nil {
			return fmt.Errorf("write theme file: %w", err)
		}
		if row, err = bumpTheme(tx, row.ID); err != nil {
			return err
		}
		if a, err = s.findAsset(tx, row, w.Key); err != nil {
			return err
		}
		a.Value = nil
		return nil
	})
	if err != nil {
		return Theme{}, Asset{}, err
	}
	s.cache.parsed.Add(themeKey{t.ID, row.ID, row.Version}, parsed)
	return row.toTheme(), a, nil
}

// DeleteAsset deletes a file of store t's theme themeID, after checking
// that the theme loads without it. layout/theme.liquid and the last home
// page template cannot be deleted. A file of a built-in base is kept as
// deleted (a NULL row), so the base does not bring it back.
//
// Errors: NotFound (the theme, the file), Invalid (a required file; the
// theme without the file, under "asset").
func (s *Themes) DeleteAsset(ctx context.Context, t *tenant.Tenant, themeID int64, key string) (Theme, error) {
	var row themeRecord
	var parsed *themes.Theme
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if row, err = findThemeRecord(tx, themeID, true); err != nil {
			return err
		}
		files, err := themeFiles(tx, s.cache, row.themeRow())
		if err != nil {
			return err
		}
		if _, ok := files[key]; !ok {
			return ErrAssetNotFound
		}
		delete(files, key)
		if missing := missingRequired(files); len(missing) > 0 {
			return &errs.Error{Kind: errs.Invalid, Message: "asset " + key + " is required and cannot be deleted",
				Fields: map[string][]string{"asset": {key + " is required and cannot be deleted"}}}
		}
		if parsed, err = checkTheme(files, "asset"); err != nil {
			return err
		}
		if err := s.removeFile(tx, row, key); err != nil {
			return err
		}
		row, err = bumpTheme(tx, row.ID)
		return err
	})
	if err != nil {
		return Theme{}, err
	}
	s.cache.parsed.Add(themeKey{t.ID, row.ID, row.Version}, parsed)
	return row.toTheme(), nil
}

// removeFile deletes key from theme row's files: a file of its built-in
// base is kept as deleted (a NULL row), so the base does not bring it back.
func (s *Themes) removeFile(tx *gorm.DB, row themeRecord, key string) error {
	inBase := false
	if row.Builtin != nil {
		base, err := s.cache.builtinFiles(*row.Builtin)
		if err != nil {
			return err
		}
		_, inBase = base[key]
	}
	var err error
	if inBase {
		err = tx.Exec(`INSERT INTO theme_files (theme_id, key, value) VALUES (?, ?, NULL)
			ON CONFLICT (theme_id, key) DO UPDATE SET value = NULL, updated_at = now()`, row.ID, key).Error
	} else {
		err = tx.Exec(`DELETE FROM theme_files WHERE theme_id = ? AND key = ?`, row.ID, key).Error
	}
	if err != nil {
		return fmt.Errorf("delete theme file: %w", err)
	}
	return nil
}

// templateTwin is the other form of a template file (templates/x.json for
// templates/x.liquid, and the reverse), or "" for other files.
func templateTwin(key string) string {
	dir := path.Dir(key)
	if dir != "templates" && dir != "templates/customers" {
		return ""
	}
	if stem, ok := strings.CutSuffix(key, ".liquid"); ok {
		return stem + ".json"
	}
	if stem, ok := strings.CutSuffix(key, ".json"); ok {
		return stem + ".liquid"
	}
	return ""
}

// PreviewURL is the address at which theme id of store t can be seen on
// the storefront for the next hour, by whoever has it: it carries a
// preview token signed for that store and theme.
func (s *Themes) PreviewURL(t *tenant.Tenant, id int64) string {
	q := url.Values{"preview_theme_id": {fmt.Sprint(id)}, "preview_token": {s.preview.sign(t.ID, id)}}
	return s.urls.Store(t.Slug) + "/?" + q.Encode()
}

// AssetURL is the public address of an assets/ file of a theme, or "" for
// other files.
func (s *Themes) AssetURL(t *tenant.Tenant, th Theme, key string) string {
	name, ok := strings.CutPrefix(key, "assets/")
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s/cdn/shop/t/%d/assets/%s?v=%d", s.urls.Store(t.Slug), th.ID, url.PathEscape(name), th.Version)
}

// download fetches src, refusing addresses inside our network (unless the
// client allows them) and bodies over limit bytes. Its errors are for the
// person who gave src.
func (s *Themes) download(ctx context.Context, src string, limit int) ([]byte, error) {
	if s.fetch == nil {
		return nil, errors.New("cannot be downloaded here")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := safehttp.Get(ctx, s.fetch, src)
	if err != nil {
		if safehttp.IsForbidden(err) {
			return nil, errors.New("points at a private or local address")
		}
		return nil, errors.New("could not be downloaded (no answer from its server)")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("could not be downloaded (its server answered %d)", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, errors.New("could not be downloaded (the transfer broke off)")
	}
	if len(data) > limit {
		return nil, fmt.Errorf("is larger than %d MB", limit>>20)
	}
	return data, nil
}

// fieldError is an Invalid error about one field, whose message err gives.
func fieldError(field string, err error) error {
	return &errs.Error{Kind: errs.Invalid, Message: field + " " + err.Error(), Fields: map[string][]string{field: {err.Error()}}}
}

func checksum(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// --- store -------------------------------------------------------------------

// themeRecord is a themes row with every column.
type themeRecord struct {
	ID        int64     `gorm:"column:id"`
	Name      string    `gorm:"column:name"`
	Role      string    `gorm:"column:role"`
	Builtin   *string   `gorm:"column:builtin"`
	Version   int64     `gorm:"column:version"`
	CreatedAt time.Time `gorm:"column:created_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

const themeColumns = `id, name, role, builtin, version, created_at, updated_at`

func (r themeRecord) toTheme() Theme {
	th := Theme{ID: r.ID, Name: r.Name, Role: r.Role, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Builtin != nil {
		th.Builtin = *r.Builtin
	}
	return th
}

func (r themeRecord) themeRow() themeRow {
	return themeRow{ID: r.ID, Name: r.Name, Role: r.Role, Builtin: r.Builtin, Version: r.Version}
}

// findThemeRecord reads theme id, locking its row for the transaction when
// lock is set (every write to a theme's files does, so that each checks the
// theme as the one before it left it).
func findThemeRecord(tx *gorm.DB, id int64, lock bool) (themeRecord, error) {
	q := `SELECT ` + themeColumns + ` FROM themes WHERE id = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	var rows []themeRecord
	if err := tx.Raw(q, id).Scan(&rows).Error; err != nil {
		return themeRecord{}, fmt.Errorf("find theme: %w", err)
	}
	if len(rows) == 0 {
		return themeRecord{}, ErrThemeNotFound
	}
	return rows[0], nil
}

// bumpTheme records a change to theme id's files.
func bumpTheme(tx *gorm.DB, id int64) (themeRecord, error) {
	var row themeRecord
	if err := tx.Raw(`UPDATE themes SET version = version + 1, updated_at = now() WHERE id = ? RETURNING `+themeColumns, id).Scan(&row).Error; err != nil {
		return themeRecord{}, fmt.Errorf("bump theme version: %w", err)
	}
	return row, nil
}

// themeFileInfo is a theme_files row without its content; Checksum is nil
// for a deleted built-in file.
type themeFileInfo struct {
	Key       string    `gorm:"column:key"`
	Size      int64     `gorm:"column:size"`
	Checksum  *string   `gorm:"column:checksum"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func findThemeFileInfo(tx *gorm.DB, themeID int64) ([]themeFileInfo, error) {
	var rows []themeFileInfo
	err := tx.Raw(`SELECT key, coalesce(octet_length(value), 0) AS size, md5(value) AS checksum, updated_at
		FROM theme_files WHERE theme_id = ?`, themeID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list theme files: %w", err)
	}
	return rows, nil
}

// insertThemeFiles stores an uploaded theme's files, a batch of rows per
// statement.
func insertThemeFiles(tx *gorm.DB, themeID int64, files map[string][]byte) error {
	const batch = 100
	keys := slices.Sorted(maps.Keys(files))
	for len(keys) > 0 {
		n := min(batch, len(keys))
		var sql strings.Builder
		sql.WriteString(`INSERT INTO theme_files (theme_id, key, value) VALUES `)
		args := make([]any, 0, 3*n)
		for i, k := range keys[:n] {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?, ?)")
			v := files[k]
			if v == nil {
				v = []byte{}
			}
			args = append(args, themeID, k, v)
		}
		if err := tx.Exec(sql.String(), args...).Error; err != nil {
			return fmt.Errorf("insert theme files: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}
