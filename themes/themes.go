// Package themes is the storefront's theme engine: it loads Liquid themes
// laid out like Shopify's (layout/, templates/, sections/, snippets/,
// assets/, config/, locales/), parses every template once, and renders
// shopper pages from data objects shaped like Shopify's (product, collection,
// cart, …) that the storefront builds as plain maps and lists.
//
// Theme code is untrusted. It reads nothing but its own files (all of them
// read and parsed when the theme is loaded, never from disk at render
// time), reaches no network, runs no Go code but the engine's tags and
// filters, and every render is bounded in time, output, nesting, loop
// iterations and memory (see Limits). Text a shopper typed reaches the page
// HTML-escaped whatever the theme does (see Untrusted).
//
// Two themes are built into the binary (see Builtin). The Liquid
// interpreter is github.com/osteele/liquid; README.md in this folder says
// why, and lists the objects the storefront must provide.
package themes

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/osteele/liquid/render"
)

// Theme is a loaded theme: its files, its parsed templates and its merged
// settings. It is immutable and safe for concurrent use; the storefront
// keeps one per store and theme version.
type Theme struct {
	name  string
	files map[string][]byte

	cfg       *render.Config
	layouts   map[string]*source // "theme" for layout/theme.liquid
	templates map[string]*source // "product", "customers/login", "product.alt"
	jsons     map[string]*jsonTemplate
	sections  map[string]*source // "header" for sections/header.liquid
	snippets  map[string]*source // "price" for snippets/price.liquid

	settings       map[string]any
	staticSections map[string]sectionData
	locales        map[string]map[string]any
	defaultLocale  string

	envs sync.Pool // *env, the per-render filter sets
}

// source is one parsed Liquid file.
type source struct {
	path   string
	root   render.Node
	schema *sectionSchema // sections only
}

// Error is a problem in a theme file, located by file and line (0 when the
// problem is the file as a whole). Load errors and render errors alike are
// *Error values, or joins of them; a render error caused by a limit wraps
// the limit's Err… value.
type Error struct {
	File string
	Line int
	Msg  string
	Err  error
}

// Error formats the problem as file:line: message, the form editors and
// compilers use.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	if e.File != "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return e.Msg
}

// Unwrap returns the cause, such as ErrTimeout.
func (e *Error) Unwrap() error { return e.Err }

// ErrNotFound is wrapped by the errors for a missing template, layout,
// section or snippet.
var ErrNotFound = errors.New("not found")

// New loads the theme in fsys, laid out like a Shopify theme, and parses
// all of it. Files outside the theme folders or with other extensions are
// refused, as are themes over the size limits of FromZip (MaxThemeBytes,
// MaxFileBytes, MaxSourceBytes, MaxFiles); hidden files are skipped. The
// error lists every problem found, each an *Error naming its file and line.
func New(fsys fs.FS) (*Theme, error) {
	files := map[string][]byte{}
	total := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if skipped(p) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return &Error{File: p, Msg: "is not a regular file (symbolic links are refused)"}
		}
		if len(files) >= MaxFiles {
			return &Error{Msg: fmt.Sprintf("theme has more than %d files", MaxFiles)}
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read theme file: %w", err)
		}
		total += len(b)
		if total > MaxThemeBytes {
			return &Error{Msg: fmt.Sprintf("theme is larger than %d bytes", MaxThemeBytes)}
		}
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load theme: %w", err)
	}
	return FromMap(files)
}

// FromMap loads a theme from its files, keyed by slash-separated path
// ("layout/theme.liquid"), as the storefront keeps uploaded themes. The map
// is copied. Errors are as for New.
func FromMap(files map[string][]byte) (*Theme, error) {
	var errs []error
	if len(files) > MaxFiles {
		return nil, &Error{Msg: fmt.Sprintf("theme has more than %d files", MaxFiles)}
	}
	own := make(map[string][]byte, len(files))
	total := 0
	for p, b := range files {
		if skipped(p) {
			continue
		}
		if err := checkFile(p, len(b)); err != nil {
			errs = append(errs, err)
			continue
		}
		total += len(b)
		own[p] = b
	}
	if total > MaxThemeBytes {
		errs = append(errs, &Error{Msg: fmt.Sprintf("theme is larger than %d bytes", MaxThemeBytes)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(sortErrors(errs)...)
	}
	return build(own)
}

// Name is the theme's name from config/settings_schema.json (theme_info),
// or "" when it has none.
func (t *Theme) Name() string { return t.name }

// Files returns a copy of the theme's files by path, as FromMap takes them:
// what the storefront stores after FromZip.
func (t *Theme) Files() map[string][]byte {
	out := make(map[string][]byte, len(t.files))
	for p, b := range t.files {
		out[p] = append([]byte(nil), b...)
	}
	return out
}

// Asset returns the content of assets/name, for the storefront to serve
// (with its own fingerprinted URL, see RenderOptions.AssetURL).
func (t *Theme) Asset(name string) ([]byte, error) {
	b, ok := t.files["assets/"+name]
	if !ok || strings.Contains(name, "/") {
		return nil, fmt.Errorf("asset %q: %w", name, ErrNotFound)
	}
	return b, nil
}

// Templates lists the page templates the theme has ("index", "product",
// "customers/login", "product.alternate", …), sorted.
func (t *Theme) Templates() []string {
	names := make([]string, 0, len(t.templates)+len(t.jsons))
	for n := range t.templates {
		names = append(names, n)
	}
	for n := range t.jsons {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Settings returns a copy of the theme's settings: the schema's defaults
// merged with the current values of config/settings_data.json, as
// templates see them in `settings`.
func (t *Theme) Settings() map[string]any { return maps.Clone(t.settings) }

func sortErrors(errs []error) []error {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs
}
