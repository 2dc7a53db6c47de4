package themes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
)

// Size limits of a theme, checked by New, FromMap and FromZip.
const (
	// MaxThemeBytes bounds the total size of a theme's files.
	MaxThemeBytes = 64 << 20
	// MaxFileBytes bounds any one file (an image in assets/, say).
	MaxFileBytes = 10 << 20
	// MaxSourceBytes bounds any one Liquid or JSON file, so that parsing
	// stays fast.
	MaxSourceBytes = 1 << 20
	// MaxFiles bounds the number of files.
	MaxFiles = 2000
	// MaxNesting bounds how deeply blocks ({% if %}, {% for %}, …) nest in
	// one file.
	MaxNesting = 100
)

// folders lists the theme folders and the extensions each may hold.
var folders = map[string][]string{
	"layout":              {".liquid"},
	"templates":           {".liquid", ".json"},
	"templates/customers": {".liquid", ".json"},
	"sections":            {".liquid", ".json"},
	"snippets":            {".liquid"},
	"config":              {".json"},
	"locales":             {".json"},
	"assets": {".css", ".js", ".mjs", ".json", ".map", ".svg", ".png", ".jpg", ".jpeg", ".gif",
		".webp", ".avif", ".ico", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".txt"},
}

// skipped reports the files a theme may carry but that are not part of it:
// hidden files and macOS archive metadata.
func skipped(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if strings.HasPrefix(part, ".") && part != "." && part != ".." || part == "__MACOSX" {
			return true
		}
	}
	return false
}

// checkFile checks a file's path and size.
func checkFile(p string, size int) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.Contains(p, "\x00") {
		return &Error{File: p, Msg: "is not a relative slash-separated path"}
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." || part == "" {
			return &Error{File: p, Msg: "has an empty, . or .. path element"}
		}
	}
	dir, ext := path.Dir(p), path.Ext(p)
	allowed, ok := folders[dir]
	if !ok {
		return &Error{File: p, Msg: "is not in a theme folder (layout, templates, templates/customers, sections, snippets, assets, config, locales)"}
	}
	extOK := false
	for _, a := range allowed {
		if strings.EqualFold(ext, a) {
			extOK = true
		}
	}
	if !extOK {
		return &Error{File: p, Msg: fmt.Sprintf("has an extension not allowed in %s/ (allowed: %s)", dir, strings.Join(allowed, " "))}
	}
	if size > MaxFileBytes {
		return &Error{File: p, Msg: fmt.Sprintf("is larger than %d bytes", MaxFileBytes)}
	}
	if isSource(p) && size > MaxSourceBytes {
		return &Error{File: p, Msg: fmt.Sprintf("is larger than %d bytes", MaxSourceBytes)}
	}
	return nil
}

// isSource reports whether a file is Liquid or JSON that the engine
// parses, as opposed to an asset it only serves.
func isSource(p string) bool {
	ext := path.Ext(p)
	return (ext == ".liquid" || ext == ".json") && path.Dir(p) != "assets"
}

// build parses a theme from checked files.
func build(files map[string][]byte) (*Theme, error) {
	t := &Theme{
		files:     files,
		layouts:   map[string]*source{},
		templates: map[string]*source{},
		jsons:     map[string]*jsonTemplate{},
		sections:  map[string]*source{},
		snippets:  map[string]*source{},
		locales:   map[string]map[string]any{},
	}
	t.cfg = newConfig()
	var errs []error
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		dir, base := path.Dir(p), path.Base(p)
		name := strings.TrimSuffix(base, path.Ext(base))
		switch {
		case path.Ext(p) == ".liquid":
			src, err := t.parse(p, files[p])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			switch dir {
			case "layout":
				t.layouts[name] = src
			case "templates":
				t.templates[name] = src
			case "templates/customers":
				t.templates["customers/"+name] = src
			case "sections":
				schema, err := parseSchema(p, files[p])
				if err != nil {
					errs = append(errs, err)
					continue
				}
				src.schema = schema
				t.sections[name] = src
			case "snippets":
				t.snippets[name] = src
			}
		case dir == "templates" || dir == "templates/customers":
			var jt jsonTemplate
			if err := decodeJSON(p, files[p], &jt); err != nil {
				errs = append(errs, err)
				continue
			}
			jt.path = p
			key := name
			if dir != "templates" {
				key = "customers/" + name
			}
			t.jsons[key] = &jt
		case dir == "locales":
			if strings.HasSuffix(base, ".schema.json") {
				continue
			}
			var tree map[string]any
			if err := decodeJSON(p, files[p], &tree); err != nil {
				errs = append(errs, err)
				continue
			}
			locale, isDefault := strings.CutSuffix(name, ".default")
			t.locales[locale] = tree
			if isDefault {
				if t.defaultLocale != "" {
					errs = append(errs, &Error{File: p, Msg: "is a second default locale"})
				}
				t.defaultLocale = locale
			}
		}
	}
	if t.defaultLocale == "" {
		t.defaultLocale = "en"
	}
	if _, ok := t.layouts["theme"]; !ok {
		errs = append(errs, &Error{File: "layout/theme.liquid", Msg: "is missing"})
	}
	errs = append(errs, t.loadSettings()...)
	for name, jt := range t.jsons {
		if _, ok := t.templates[name]; ok {
			errs = append(errs, &Error{File: jt.path, Msg: "has a .liquid twin; keep one of them"})
		}
		errs = append(errs, t.checkJSONTemplate(jt)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(sortErrors(errs)...)
	}
	return t, nil
}

// parse compiles one Liquid file. A panic in the parser, on input it did
// not foresee, becomes an error: an uploaded theme must not crash the
// process.
func (t *Theme) parse(p string, b []byte) (src *source, err error) {
	defer func() {
		if r := recover(); r != nil {
			src, err = nil, &Error{File: p, Msg: fmt.Sprintf("cannot be parsed: %v", r)}
		}
	}()
	root, err := t.cfg.Compile(normalize(string(b)), parser.SourceLoc{Pathname: p, LineNo: 1})
	if err != nil {
		return nil, locate(err, p)
	}
	if d := nesting(root, 0); d > MaxNesting {
		return nil, &Error{File: p, Msg: fmt.Sprintf("blocks are nested more than %d deep", MaxNesting)}
	}
	return &source{path: p, root: root}, nil
}

// nesting returns the block depth of a compiled tree, stopping early past
// MaxNesting.
func nesting(n render.Node, depth int) int {
	if depth > MaxNesting {
		return depth
	}
	deepest := depth
	walk := func(nodes []render.Node, d int) {
		for _, c := range nodes {
			if got := nesting(c, d); got > deepest {
				deepest = got
			}
		}
	}
	switch n := n.(type) {
	case *render.SeqNode:
		walk(n.Children, depth)
	case *render.BlockNode:
		walk(n.Body, depth+1)
		for _, c := range n.Clauses {
			walk(c.Body, depth+1)
		}
	}
	return deepest
}

// liquidError is the interface of osteele/liquid's located errors.
type liquidError interface {
	error
	Path() string
	LineNumber() int
}

var liquidPrefix = regexp.MustCompile(`^Liquid error(?: \(line \d+\))?: `)

// locate turns a Liquid error into an *Error naming its file and line.
func locate(err error, fallback string) *Error {
	var le liquidError
	if !errors.As(err, &le) {
		return &Error{File: fallback, Msg: err.Error(), Err: err}
	}
	file := le.Path()
	if file == "" {
		file = fallback
	}
	msg := liquidPrefix.ReplaceAllString(le.Error(), "")
	for _, suffix := range []string{" in " + le.Path(), " in " + fallback} {
		msg = strings.TrimSuffix(msg, suffix)
	}
	if i := strings.LastIndex(msg, " in {"); i > 0 {
		msg = msg[:i]
	}
	return &Error{File: file, Line: le.LineNumber(), Msg: msg, Err: err}
}

// decodeJSON decodes a theme JSON file, locating syntax errors by line.
// Shopify's JSON files may start with a /* comment */, which is skipped.
func decodeJSON(p string, b []byte, v any) error {
	body := b
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("/*")) {
		if end := bytes.Index(trimmed, []byte("*/")); end >= 0 {
			skip := len(body) - len(trimmed) + end + 2
			body = bytes.Clone(b)
			for i := 0; i < skip; i++ {
				if body[i] != '\n' {
					body[i] = ' '
				}
			}
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		line := 0
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line = 1 + bytes.Count(body[:min(int(se.Offset), len(body))], []byte("\n"))
		}
		return &Error{File: p, Line: line, Msg: "invalid JSON: " + err.Error(), Err: err}
	}
	return nil
}

// normalize rewrites the few Shopify syntaxes osteele/liquid does not
// parse into equivalents it does, keeping every line where it was:
//
//   - filters with keyword arguments only, `image_url: width: 300`, get an
//     empty first argument: `image_url: nil, width: 300`;
//   - an object spread over several lines, `{{ x\n | f }}`, is joined into
//     one line, and its newlines move into an empty tag after it;
//   - an inline comment, `{% # note %}`, becomes an empty tag.
//
// Text inside raw and comment blocks is left alone.
func normalize(src string) string {
	if !strings.Contains(src, "{") {
		return src
	}
	var out strings.Builder
	out.Grow(len(src) + 64)
	i := 0
	for i < len(src) {
		j := strings.Index(src[i:], "{")
		if j < 0 || i+j+1 >= len(src) {
			out.WriteString(src[i:])
			break
		}
		j += i
		out.WriteString(src[i:j])
		switch src[j+1] {
		case '{':
			end := strings.Index(src[j+2:], "}}")
			if end < 0 {
				out.WriteString(src[j:])
				return out.String()
			}
			inner := src[j+2 : j+2+end]
			lines := strings.Count(inner, "\n")
			inner = strings.ReplaceAll(rewriteKeywords(inner), "\n", " ")
			out.WriteString("{{")
			out.WriteString(inner)
			out.WriteString("}}")
			if lines > 0 {
				out.WriteString("{%" + strings.Repeat("\n", lines) + "_nl%}")
			}
			i = j + 2 + end + 2
		case '%':
			end := strings.Index(src[j+2:], "%}")
			if end < 0 {
				out.WriteString(src[j:])
				return out.String()
			}
			inner := src[j+2 : j+2+end]
			tagEnd := j + 2 + end + 2
			name := tagName(inner)
			switch {
			case name == "raw" || name == "comment":
				loc := closers[name].FindStringIndex(src[tagEnd:])
				if loc == nil {
					out.WriteString(src[j:])
					return out.String()
				}
				out.WriteString(src[j : tagEnd+loc[1]])
				i = tagEnd + loc[1]
				continue
			case strings.HasPrefix(strings.TrimLeft(inner, "- \t\r\n"), "#"):
				k := strings.Index(inner, "#")
				out.WriteString("{%" + inner[:k] + "_c " + inner[k:] + "%}")
			default:
				out.WriteString("{%" + rewriteKeywords(inner) + "%}")
			}
			i = tagEnd
		default:
			out.WriteByte('{')
			i = j + 1
		}
	}
	return out.String()
}

// tagName returns the name of a tag from the text between {% and %}.
func tagName(inner string) string {
	s := strings.TrimLeft(inner, "- \t\r\n")
	end := 0
	for end < len(s) && (s[end] == '_' || s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z' || s[end] >= '0' && s[end] <= '9') {
		end++
	}
	return s[:end]
}

var closers = map[string]*regexp.Regexp{
	"raw":     regexp.MustCompile(`\{%-?\s*endraw\s*-?%\}`),
	"comment": regexp.MustCompile(`\{%-?\s*endcomment\s*-?%\}`),
}

var keywordFilter = regexp.MustCompile(`^\|\s*([A-Za-z_][\w-]*)\s*:\s*([A-Za-z_][\w-]*)\s*:`)

// rewriteKeywords inserts nil before the first keyword argument of filters
// that have no positional one, outside string literals.
func rewriteKeywords(s string) string {
	if !strings.Contains(s, "|") {
		return s
	}
	var out strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '|':
			if m := keywordFilter.FindStringSubmatchIndex(s[i:]); m != nil {
				// m[3] ends the filter name; skip its colon.
				colon := i + strings.Index(s[i+m[3]:], ":") + m[3] + 1
				out.WriteString(s[i:colon])
				out.WriteString(" nil,")
				i = colon - 1
				continue
			}
		}
		out.WriteByte(c)
	}
	return out.String()
}
