package themes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/osteele/liquid/values"
	"github.com/osteele/tuesday"
)

type ownFilter = func(st *state, in any, args []any) (any, error)

// shopifyFilters are the Shopify filters the engine defines, all aware of
// Untrusted values.
func (e *env) shopifyFilters() map[string]ownFilter {
	return map[string]ownFilter{
		"money":                        moneyFilter(moneyPlain),
		"money_with_currency":          moneyFilter(moneyWithCurrency),
		"money_without_currency":       moneyFilter(moneyNoSymbol),
		"money_without_trailing_zeros": moneyFilter(moneyNoTrailingZeros),
		"t":                            translateFilter,
		"translate":                    translateFilter,
		"json":                         jsonFilter,
		"inspect":                      jsonFilter,
		"asset_url":                    assetURLFilter,
		"asset_img_url":                assetImgURLFilter,
		"file_url":                     assetURLFilter,
		"image_url":                    imageURLFilter,
		"img_url":                      imgURLFilter,
		"image_tag":                    imageTagFilter,
		"img_tag":                      imgTagFilter,
		"stylesheet_tag":               stylesheetTagFilter,
		"script_tag":                   scriptTagFilter,
		"link_to":                      linkToFilter,
		"url_for_type":                 urlForFilter("/collections/types?q="),
		"url_for_vendor":               urlForFilter("/collections/vendors?q="),
		"link_to_type":                 linkToForFilter("/collections/types?q="),
		"link_to_vendor":               linkToForFilter("/collections/vendors?q="),
		"within":                       withinFilter,
		"url_escape":                   urlEscapeFilter,
		"url_param_escape":             urlParamEscapeFilter,
		"default_pagination":           defaultPaginationFilter,
		"default_errors":               defaultErrorsFilter,
		"placeholder_svg_tag":          placeholderSVGFilter,
		"highlight":                    highlightFilter,
	}
}

// keywords splits a filter's arguments into positional ones and the map
// of keyword arguments osteele/liquid appends last. The nil normalize
// inserts before keyword-only arguments is dropped. Only filters whose
// positional arguments are never maps use it, since a map argument and
// keyword arguments look alike.
func keywords(args []any) ([]any, map[string]any) {
	if len(args) == 0 {
		return nil, map[string]any{}
	}
	kw, ok := args[len(args)-1].(map[string]any)
	if !ok {
		return args, map[string]any{}
	}
	pos := args[:len(args)-1]
	if len(pos) == 1 && pos[0] == nil {
		pos = nil
	}
	return pos, kw
}

func arg(pos []any, i int) any {
	if i < len(pos) {
		return pos[i]
	}
	return nil
}

func text(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(plain(v))
}

// keepTaint returns s as Untrusted when it was derived from shopper text.
func keepTaint(in any, s string) any {
	if _, ok := in.(Untrusted); ok {
		return Untrusted(s)
	}
	return s
}

// lookupKey resolves a dotted key in nested maps.
func lookupKey(tree map[string]any, key string) any {
	var cur any = tree
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[part]; !ok {
			return nil
		}
	}
	return cur
}

// translationChain returns the locale trees to search for a locale:
// exact, language, default.
func (t *Theme) translationChain(locale string) []map[string]any {
	var chain []map[string]any
	seen := map[string]bool{}
	add := func(l string) {
		if tree, ok := t.locales[l]; ok && !seen[l] {
			chain = append(chain, tree)
			seen[l] = true
		}
	}
	add(locale)
	if lang, _, ok := strings.Cut(locale, "-"); ok {
		add(lang)
	}
	add(t.defaultLocale)
	return chain
}

var placeholder = regexp.MustCompile(`\{\{\s*([\w-]+)\s*\}\}`)

// translateFilter is t: the key's text from the locale files, with
// {{ name }} replaced by the keyword arguments (shopper text escaped) and
// one/other/zero chosen by count.
func translateFilter(st *state, in any, args []any) (any, error) {
	_, kw := keywords(args)
	key := text(in)
	var v any
	for _, tree := range st.translations {
		if v = lookupKey(tree, key); v != nil {
			break
		}
	}
	if plural, ok := v.(map[string]any); ok {
		count, _ := toInt(kw["count"])
		switch {
		case count == 0 && plural["zero"] != nil:
			v = plural["zero"]
		case count == 1 && plural["one"] != nil:
			v = plural["one"]
		default:
			v = plural["other"]
		}
	}
	s, ok := v.(string)
	if !ok {
		return html.EscapeString(fmt.Sprintf("translation missing: %s.%s", st.locale(), key)), nil
	}
	var err error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		val, ok := kw[name]
		if !ok {
			return m
		}
		r := escapeValue(val)
		if err == nil {
			err = st.reserve(len(r))
		}
		return r
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// jsonFilter encodes a value as JSON that is safe inside <script> and in a
// single-quoted attribute: <, >, &, ' and quotes inside strings are
// \u-escaped. Shopper text is encoded like any string.
func jsonFilter(st *state, in any, _ []any) (any, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(jsonable(in, 0)); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	b = bytes.ReplaceAll(b, []byte("'"), []byte(`\u0027`))
	return string(b), nil
}

// jsonable converts the engine's own types to what encoding/json handles.
func jsonable(v any, depth int) any {
	if depth > 64 {
		return nil
	}
	switch v := v.(type) {
	case Untrusted:
		return string(v)
	case templateObject:
		return v.full
	case imageURL:
		return v.url
	case *formErrors:
		return v.messages
	case values.Range:
		return fmt.Sprintf("%d..%d", v.Index(0), v.Index(v.Len()-1))
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = jsonable(x, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonable(x, depth+1)
		}
		return out
	case map[Untrusted]Untrusted:
		out := make(map[string]string, len(v))
		for k, x := range v {
			out[string(k)] = string(x)
		}
		return out
	}
	return v
}

func (st *state) assetURL(name string) string {
	if st.opts.AssetURL != nil {
		return st.opts.AssetURL(name)
	}
	return "/assets/" + url.PathEscape(name)
}

func (st *state) imageURL(src string, w, h int) string {
	if st.opts.ImageURL != nil {
		return st.opts.ImageURL(src, w, h)
	}
	return src
}

func assetURLFilter(st *state, in any, _ []any) (any, error) {
	return keepTaint(in, st.assetURL(text(in))), nil
}

// imageURL is what image_url returns: it prints as the URL, and image_tag
// also reads the image's alt text and size from it.
type imageURL struct {
	url           string
	alt           string
	width, height int
}

func (u imageURL) String() string             { return u.url }
func (u imageURL) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, html.EscapeString(u.url)) }

// imageOf reads an image's source, alt text and size from an image object,
// or from an object that has one (product, variant, collection), or a URL.
func imageOf(v any) (imageURL, bool) {
	for range 3 {
		switch x := v.(type) {
		case imageURL:
			return x, true
		case string:
			return imageURL{url: x}, x != ""
		case Untrusted:
			return imageURL{url: string(x)}, x != ""
		case map[string]any:
			if src, ok := x["src"].(string); ok && src != "" {
				img := imageURL{url: src}
				img.alt = text(x["alt"])
				img.width, _ = toInt(x["width"])
				img.height, _ = toInt(x["height"])
				return img, true
			}
			switch {
			case x["featured_image"] != nil:
				v = x["featured_image"]
			case x["image"] != nil:
				v = x["image"]
			default:
				return imageURL{}, false
			}
		default:
			return imageURL{}, false
		}
	}
	return imageURL{}, false
}

// fit returns the size of an image of w0 × h0 scaled to fit w × h (either
// may be 0), never larger than the original when its size is known.
func fit(w0, h0, w, h int) (int, int) {
	if w0 <= 0 || h0 <= 0 {
		return w, h
	}
	if w <= 0 && h <= 0 {
		return w0, h0
	}
	scale := 1.0
	if w > 0 {
		scale = min(scale, float64(w)/float64(w0))
	}
	if h > 0 {
		scale = min(scale, float64(h)/float64(h0))
	}
	return max(1, int(float64(w0)*scale+0.5)), max(1, int(float64(h0)*scale+0.5))
}

func imageURLFilter(st *state, in any, args []any) (any, error) {
	img, ok := imageOf(in)
	if !ok {
		return "", nil
	}
	_, kw := keywords(args)
	w, _ := toInt(kw["width"])
	h, _ := toInt(kw["height"])
	out := img
	out.url = st.imageURL(img.url, max(w, 0), max(h, 0))
	out.width, out.height = fit(img.width, img.height, w, h)
	return out, nil
}

var namedSizes = map[string]int{"pico": 16, "icon": 32, "thumb": 50, "small": 100, "compact": 160, "medium": 240, "large": 480, "grande": 600}

// parseSize reads img_url's sizes: "400x", "x300", "400x300", "medium",
// "master".
func parseSize(s string) (int, int) {
	if n, ok := namedSizes[s]; ok {
		return n, n
	}
	ws, hs, _ := strings.Cut(s, "x")
	w, _ := strconv.Atoi(ws)
	h, _ := strconv.Atoi(hs)
	return max(w, 0), max(h, 0)
}

func imgURLFilter(st *state, in any, args []any) (any, error) {
	img, ok := imageOf(in)
	if !ok {
		return "", nil
	}
	pos, _ := keywords(args)
	w, h := parseSize(text(arg(pos, 0)))
	return keepTaint(in, st.imageURL(img.url, w, h)), nil
}

func assetImgURLFilter(st *state, in any, args []any) (any, error) {
	pos, _ := keywords(args)
	w, h := parseSize(text(arg(pos, 0)))
	return keepTaint(in, st.imageURL(st.assetURL(text(in)), w, h)), nil
}

var imageAttrs = []string{"class", "id", "loading", "sizes", "srcset", "style", "fetchpriority", "decoding", "title"}

func imageTagFilter(st *state, in any, args []any) (any, error) {
	img, ok := imageOf(in)
	if !ok {
		return "", nil
	}
	_, kw := keywords(args)
	alt := img.alt
	if a, ok := kw["alt"]; ok {
		alt = text(a)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<img src="%s" alt="%s"`, attr(img.url), attr(alt))
	w, h := img.width, img.height
	if n, ok := toInt(kw["width"]); ok {
		w = n
	}
	if n, ok := toInt(kw["height"]); ok {
		h = n
	}
	if w > 0 {
		fmt.Fprintf(&b, ` width="%d"`, w)
	}
	if h > 0 {
		fmt.Fprintf(&b, ` height="%d"`, h)
	}
	for _, name := range imageAttrs {
		if v, ok := kw[name]; ok && v != nil {
			fmt.Fprintf(&b, ` %s="%s"`, name, attr(v))
		}
	}
	b.WriteString(">")
	return b.String(), nil
}

func imgTagFilter(st *state, in any, args []any) (any, error) {
	pos, _ := keywords(args)
	var b strings.Builder
	fmt.Fprintf(&b, `<img src="%s" alt="%s"`, attr(in), attr(arg(pos, 0)))
	if c := arg(pos, 1); c != nil {
		fmt.Fprintf(&b, ` class="%s"`, attr(c))
	}
	b.WriteString(">")
	return b.String(), nil
}

func stylesheetTagFilter(st *state, in any, args []any) (any, error) {
	_, kw := keywords(args)
	media := "all"
	if m, ok := kw["media"]; ok {
		media = text(m)
	}
	return fmt.Sprintf(`<link href="%s" rel="stylesheet" type="text/css" media="%s">`, attr(in), attr(media)), nil
}

func scriptTagFilter(st *state, in any, args []any) (any, error) {
	_, kw := keywords(args)
	extra := ""
	if truthy(kw["defer"]) {
		extra = " defer"
	}
	return fmt.Sprintf(`<script src="%s"%s></script>`, attr(in), extra), nil
}

func linkToFilter(st *state, in any, args []any) (any, error) {
	pos, kw := keywords(args)
	var b strings.Builder
	fmt.Fprintf(&b, `<a href="%s"`, attr(arg(pos, 0)))
	if t := arg(pos, 1); t != nil {
		fmt.Fprintf(&b, ` title="%s"`, attr(t))
	}
	for _, name := range []string{"class", "id", "rel", "target"} {
		if v, ok := kw[name]; ok {
			fmt.Fprintf(&b, ` %s="%s"`, name, attr(v))
		}
	}
	fmt.Fprintf(&b, ">%s</a>", escapeValue(in))
	return b.String(), nil
}

func urlForFilter(prefix string) ownFilter {
	return func(st *state, in any, _ []any) (any, error) {
		return prefix + url.QueryEscape(text(in)), nil
	}
}

func linkToForFilter(prefix string) ownFilter {
	return func(st *state, in any, _ []any) (any, error) {
		return fmt.Sprintf(`<a href="%s" title="%s">%s</a>`, attr(prefix+url.QueryEscape(text(in))), attr(in), escapeValue(in)), nil
	}
}

func withinFilter(st *state, in any, args []any) (any, error) {
	u := text(in)
	if c, ok := arg(args, 0).(map[string]any); ok {
		base := text(c["url"])
		if base == "" && c["handle"] != nil {
			base = "/collections/" + text(c["handle"])
		}
		if base != "" && strings.HasPrefix(u, "/products/") {
			u = base + u
		}
	}
	return keepTaint(in, u), nil
}

// urlEscape escapes what may not appear in a URL, keeping its structure
// (/ ? & = # …); quotes and angle brackets are always escaped, so the
// result is safe in HTML.
func urlEscape(s string, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~"+keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func urlEscapeFilter(st *state, in any, _ []any) (any, error) {
	return urlEscape(text(in), ":/?#[]@!$&()*+,;="), nil
}

func urlParamEscapeFilter(st *state, in any, _ []any) (any, error) {
	return urlEscape(text(in), ""), nil
}

func defaultPaginationFilter(st *state, in any, args []any) (any, error) {
	p, ok := in.(map[string]any)
	if !ok {
		return "", nil
	}
	_, kw := keywords(args)
	label := func(key string, part any) string {
		if v, ok := kw[key]; ok {
			return escapeValue(v)
		}
		if m, ok := part.(map[string]any); ok {
			return text(m["title"])
		}
		return ""
	}
	var parts []string
	if prev, ok := p["previous"].(map[string]any); ok {
		parts = append(parts, fmt.Sprintf(`<span class="prev"><a href="%s">%s</a></span>`, attr(prev["url"]), label("previous", prev)))
	}
	list, _ := p["parts"].([]any)
	for _, x := range list {
		part, _ := x.(map[string]any)
		switch {
		case truthy(part["is_link"]):
			parts = append(parts, fmt.Sprintf(`<span class="page"><a href="%s">%s</a></span>`, attr(part["url"]), text(part["title"])))
		case text(part["title"]) == "&hellip;":
			parts = append(parts, `<span class="deco">&hellip;</span>`)
		default:
			parts = append(parts, fmt.Sprintf(`<span class="page current" aria-current="page">%s</span>`, text(part["title"])))
		}
	}
	if next, ok := p["next"].(map[string]any); ok {
		parts = append(parts, fmt.Sprintf(`<span class="next"><a href="%s">%s</a></span>`, attr(next["url"]), label("next", next)))
	}
	return strings.Join(parts, " "), nil
}

func defaultErrorsFilter(st *state, in any, _ []any) (any, error) {
	fe, ok := in.(*formErrors)
	if !ok || fe == nil {
		return "", nil
	}
	var b strings.Builder
	b.WriteString(`<div class="errors" role="alert"><ul>`)
	for _, f := range fe.fields {
		msg := html.EscapeString(text(fe.messages[f]))
		if f == "form" || f == "base" {
			fmt.Fprintf(&b, "<li>%s</li>", msg)
		} else {
			fmt.Fprintf(&b, "<li>%s %s</li>", html.EscapeString(capitalize(strings.ReplaceAll(f, "_", " "))), msg)
		}
	}
	b.WriteString("</ul></div>")
	return b.String(), nil
}

func capitalize(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}

func placeholderSVGFilter(st *state, in any, args []any) (any, error) {
	pos, _ := keywords(args)
	class := "placeholder-svg"
	if c := arg(pos, 0); c != nil {
		class = text(c)
	}
	return fmt.Sprintf(`<svg class="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" role="img" aria-label="%s"><rect width="400" height="300" fill="#e9e9ec"/><path d="M130 210l50-60 35 40 25-30 50 50z" fill="#c4c4cc"/><circle cx="255" cy="110" r="18" fill="#c4c4cc"/></svg>`,
		attr(class), attr(in)), nil
}

func highlightFilter(st *state, in any, args []any) (any, error) {
	pos, _ := keywords(args)
	content := escapeValue(in)
	terms := strings.Fields(text(arg(pos, 0)))
	if len(terms) == 0 {
		return content, nil
	}
	quoted := make([]string, 0, len(terms))
	for _, t := range terms {
		quoted = append(quoted, regexp.QuoteMeta(html.EscapeString(t)))
	}
	re, err := regexp.Compile(`(?i)(` + strings.Join(quoted, "|") + `)`)
	if err != nil {
		return content, nil
	}
	return re.ReplaceAllString(content, `<strong class="highlight">$1</strong>`), nil
}

// handleize is Shopify's handle: lower case ASCII letters and digits,
// other runs turned into one dash.
func handleize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	return b.String()
}

// dateFilter is date: strftime formatting of a time, a date string, a Unix
// time, or "now"; nothing for nil.
func dateFilter(v any, format func(string) string) (string, error) {
	f := format("%a, %b %d, %y")
	var t time.Time
	switch x := v.(type) {
	case nil:
		return "", nil
	case time.Time:
		t = x
	case string:
		if x == "" {
			return "", nil
		}
		if x == "today" {
			x = "now"
		}
		p, err := values.ParseDate(x)
		if err != nil {
			return x, nil
		}
		t = p
	default:
		n, ok := toInt(x)
		if !ok {
			return fmt.Sprint(x), nil
		}
		t = time.Unix(int64(n), 0).UTC()
	}
	return tuesday.Strftime(f, t)
}
