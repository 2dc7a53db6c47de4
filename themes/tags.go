package themes

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/values"
)

// The engine defines every tag itself, standard Liquid ones included,
// rather than taking osteele/liquid's, so that each loop iteration, block
// and inclusion goes through the render's budget, captures are bounded,
// and no tag can read a file: snippets and sections come from the theme,
// parsed at load.

// newConfig returns the grammar of theme files.
func newConfig() *render.Config {
	cfg := new(render.Config)
	*cfg = render.NewConfig()
	cfg.TemplateStore = noFiles{}

	cfg.AddBlock("if").Clause("elsif").Clause("else").Compiler(ifCompiler(false))
	cfg.AddBlock("unless").Clause("elsif").Clause("else").Compiler(ifCompiler(true))
	cfg.AddBlock("case").Clause("when").Clause("else").Compiler(caseCompiler)
	cfg.AddBlock("for").Clause("else").Compiler(loopCompiler(false))
	cfg.AddBlock("tablerow").Compiler(loopCompiler(true))
	cfg.AddBlock("capture").Compiler(captureCompiler)
	cfg.AddBlock("comment")
	cfg.AddBlock("raw")
	cfg.AddBlock("schema").Compiler(silentCompiler)
	cfg.AddBlock("style").Compiler(wrapCompiler("<style data-shopify>", "</style>"))
	cfg.AddBlock("stylesheet").Compiler(wrapCompiler("<style>", "</style>"))
	cfg.AddBlock("javascript").Compiler(wrapCompiler("<script>", "</script>"))
	cfg.AddBlock("form").Compiler(formCompiler)
	cfg.AddBlock("paginate").Compiler(paginateCompiler)

	cfg.AddTag("assign", assignTag)
	cfg.AddTag("increment", counterTag(1))
	cfg.AddTag("decrement", counterTag(-1))
	cfg.AddTag("cycle", cycleTag)
	cfg.AddTag("break", jumpTag(errBreak))
	cfg.AddTag("continue", jumpTag(errContinue))
	cfg.AddTag("echo", echoTag(cfg))
	cfg.AddTag("liquid", liquidTag(cfg))
	cfg.AddTag("render", inclusionTag(true))
	cfg.AddTag("include", inclusionTag(false))
	cfg.AddTag("section", sectionTag)
	cfg.AddTag("layout", layoutTag)
	cfg.AddTag("_c", noopTag)  // {% # comment %}, see normalize
	cfg.AddTag("_nl", noopTag) // line keeper, see normalize
	return cfg
}

type tagFunc = func(io.Writer, render.Context) error

// noFiles is the template store of theme grammars: there is none. Themes
// read snippets from their own parsed files, never from disk.
type noFiles struct{}

func (noFiles) ReadTemplate(name string) ([]byte, error) {
	return nil, fmt.Errorf("template %q: %w (themes read no files)", name, ErrNotFound)
}

var (
	errBreak    = errors.New("break outside a loop")
	errContinue = errors.New("continue outside a loop")
)

func noopTag(string) (tagFunc, error) {
	return func(io.Writer, render.Context) error { return nil }, nil
}

func silentCompiler(render.BlockNode) (tagFunc, error) {
	return func(io.Writer, render.Context) error { return nil }, nil
}

func jumpTag(e error) render.TagCompiler {
	return func(string) (tagFunc, error) {
		return func(_ io.Writer, ctx render.Context) error { return ctx.WrapError(e) }, nil
	}
}

func truthy(v any) bool { return v != nil && v != false }

func ifCompiler(negate bool) render.BlockCompiler {
	return func(node render.BlockNode) (tagFunc, error) {
		type branch struct {
			test expressions.Expression
			body *render.BlockNode
		}
		first, err := expressions.Parse(node.Args)
		if err != nil {
			return nil, err
		}
		branches := []branch{{first, &node}}
		for i, c := range node.Clauses {
			switch c.Name {
			case "else":
				if i != len(node.Clauses)-1 {
					return nil, fmt.Errorf("else must be the last clause of %s", node.Name)
				}
				branches = append(branches, branch{nil, c})
			case "elsif":
				test, err := expressions.Parse(c.Args)
				if err != nil {
					return nil, err
				}
				branches = append(branches, branch{test, c})
			}
		}
		return func(w io.Writer, ctx render.Context) error {
			if err := stateOf(ctx).check(); err != nil {
				return err
			}
			for i, b := range branches {
				if b.test == nil {
					return ctx.RenderBlock(w, b.body)
				}
				v, err := ctx.Evaluate(b.test)
				if err != nil {
					return err
				}
				if truthy(v) != (negate && i == 0) {
					return ctx.RenderBlock(w, b.body)
				}
			}
			return nil
		}, nil
	}
}

func caseCompiler(node render.BlockNode) (tagFunc, error) {
	subject, err := expressions.Parse(node.Args)
	if err != nil {
		return nil, err
	}
	type when struct {
		exprs []expressions.Expression // nil for else
		body  *render.BlockNode
	}
	var whens []when
	for _, c := range node.Clauses {
		if c.Name == "else" {
			whens = append(whens, when{nil, c})
			continue
		}
		stmt, err := expressions.ParseStatement(expressions.WhenStatementSelector, c.Args)
		if err != nil {
			return nil, err
		}
		whens = append(whens, when{stmt.When.Exprs, c})
	}
	return func(w io.Writer, ctx render.Context) error {
		if err := stateOf(ctx).check(); err != nil {
			return err
		}
		v, err := ctx.Evaluate(subject)
		if err != nil {
			return err
		}
		for _, c := range whens {
			if c.exprs == nil {
				return ctx.RenderBlock(w, c.body)
			}
			for _, e := range c.exprs {
				x, err := ctx.Evaluate(e)
				if err != nil {
					return err
				}
				if values.Equal(v, x) {
					return ctx.RenderBlock(w, c.body)
				}
			}
		}
		return nil
	}, nil
}

// seq is a list a loop can walk: slices (wrapped), ranges, form errors.
type seq interface {
	Len() int
	Index(int) any
}

type anySeq []any

func (s anySeq) Len() int        { return len(s) }
func (s anySeq) Index(i int) any { return s[i] }

type reflectSeq struct{ v reflect.Value }

func (s reflectSeq) Len() int        { return s.v.Len() }
func (s reflectSeq) Index(i int) any { return s.v.Index(i).Interface() }

// pagerDefault is how many items of a Pager a loop sees outside paginate.
const pagerDefault = 50

// toSeq returns the list a loop walks over v: a list's items, a map's
// [key, value] pairs sorted by key, a string as one item.
func (st *state) toSeq(v any) (seq, error) {
	switch v := v.(type) {
	case nil:
		return anySeq(nil), nil
	case seq:
		return v, nil
	case []any:
		return anySeq(v), nil
	case Pager:
		items, err := v.Page(st.ctx, 0, pagerDefault)
		if err != nil {
			return nil, fmt.Errorf("list page: %w", err)
		}
		return anySeq(items), nil
	case string, Untrusted:
		return anySeq{v}, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		return reflectSeq{rv}, nil
	case reflect.Map:
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		pairs := make(anySeq, len(keys))
		for i, k := range keys {
			pairs[i] = []any{k.Interface(), rv.MapIndex(k).Interface()}
		}
		return pairs, nil
	}
	return anySeq(nil), nil
}

// toInt converts a Liquid number (or numeric text) to an int.
func toInt(v any) (int, bool) {
	switch n := plain(v).(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case int32:
		return int(n), true
	case float64:
		return int(n), true
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		return i, err == nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return int(rv.Float()), true
	}
	return 0, false
}

// window applies offset, limit and reversed to a list, in Shopify's order.
type window struct {
	s        seq
	from, n  int
	reversed bool
}

func (w window) Len() int { return w.n }
func (w window) Index(i int) any {
	if w.reversed {
		i = w.n - 1 - i
	}
	return w.s.Index(w.from + i)
}

func loopCompiler(table bool) render.BlockCompiler {
	return func(node render.BlockNode) (tagFunc, error) {
		stmt, err := expressions.ParseStatement(expressions.LoopStatementSelector, node.Args)
		if err != nil {
			return nil, err
		}
		loop := stmt.Loop
		var elseBody *render.BlockNode
		for _, c := range node.Clauses {
			if elseBody != nil {
				return nil, errors.New("a for loop takes at most one else clause")
			}
			elseBody = c
		}
		return func(w io.Writer, ctx render.Context) error {
			st := stateOf(ctx)
			if err := st.check(); err != nil {
				return err
			}
			v, err := ctx.Evaluate(loop.Expr)
			if err != nil {
				return err
			}
			s, err := st.toSeq(v)
			if err != nil {
				return err
			}
			win := window{s: s, n: max(s.Len(), 0), reversed: loop.Reversed}
			modifier := func(e expressions.Expression, name string) (int, bool, error) {
				if e == nil {
					return 0, false, nil
				}
				x, err := ctx.Evaluate(e)
				if err != nil {
					return 0, false, err
				}
				n, ok := toInt(x)
				if !ok {
					return 0, false, ctx.Errorf("loop %s must be a number", name)
				}
				return n, true, nil
			}
			if off, ok, err := modifier(loop.Offset, "offset"); err != nil {
				return err
			} else if ok && off > 0 {
				win.from = min(off, win.n)
				win.n -= win.from
			}
			if lim, ok, err := modifier(loop.Limit, "limit"); err != nil {
				return err
			} else if ok && lim >= 0 {
				win.n = min(win.n, lim)
			}
			cols := 0
			if table {
				c, ok, err := modifier(loop.Cols, "cols")
				if err != nil {
					return err
				}
				if ok {
					cols = c
				}
			}
			if win.n == 0 {
				if elseBody != nil {
					return ctx.RenderBlock(w, elseBody)
				}
				return nil
			}
			return st.runLoop(w, ctx, loop.Variable, win, table, cols)
		}, nil
	}
}

// runLoop renders a loop's body once per item, counting every iteration
// against the render's budget.
func (st *state) runLoop(w io.Writer, ctx render.Context, name string, s seq, table bool, cols int) error {
	loopVar := "forloop"
	if table {
		loopVar = "tablerowloop"
	}
	oldItem, oldLoop := ctx.Get(name), ctx.Get(loopVar)
	defer func() {
		ctx.Set(name, oldItem)
		ctx.Set(loopVar, oldLoop)
	}()
	n := s.Len()
	if cols <= 0 {
		cols = n
	}
	fl := map[string]any{"length": n, "parentloop": oldLoop}
	ctx.Set(loopVar, fl)
	for i := 0; i < n; i++ {
		if err := st.iterate(1); err != nil {
			return err
		}
		ctx.Set(name, s.Index(i))
		fl["index"], fl["index0"] = i+1, i
		fl["rindex"], fl["rindex0"] = n-i, n-i-1
		fl["first"], fl["last"] = i == 0, i == n-1
		if table {
			row, col := i/cols, i%cols
			fl["row"], fl["col"], fl["col0"] = row+1, col+1, col
			fl["col_first"], fl["col_last"] = col == 0, col == cols-1 || i == n-1
			if col == 0 {
				if _, err := fmt.Fprintf(w, `<tr class="row%d">`, row+1); err != nil {
					return err
				}
			}
			if _, err := fmt.Fprintf(w, `<td class="col%d">`, col+1); err != nil {
				return err
			}
		}
		err := ctx.RenderChildren(w)
		if table {
			if _, werr := io.WriteString(w, "</td>"); werr != nil {
				return werr
			}
			if (i+1)%cols == 0 || i == n-1 {
				if _, werr := io.WriteString(w, "</tr>"); werr != nil {
					return werr
				}
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, errBreak):
			return nil
		case errors.Is(err, errContinue):
		default:
			return err
		}
	}
	return nil
}

func captureCompiler(node render.BlockNode) (tagFunc, error) {
	name := strings.Trim(strings.TrimSpace(node.Args), `'"`)
	if !identifier.MatchString(name) {
		return nil, fmt.Errorf("capture needs one variable name, got %q", node.Args)
	}
	return func(w io.Writer, ctx render.Context) error {
		st := stateOf(ctx)
		cw := &pageWriter{b: &st.budget, max: st.limits.MaxOutputBytes, work: true}
		if err := ctx.RenderChildren(cw); err != nil {
			return err
		}
		ctx.Set(name, cw.buf.String())
		return nil
	}, nil
}

var identifier = regexp.MustCompile(`^[A-Za-z_][\w-]*\??$`)

func assignTag(args string) (tagFunc, error) {
	stmt, err := expressions.ParseStatement(expressions.AssignStatementSelector, args)
	if err != nil {
		return nil, err
	}
	if len(stmt.Path) > 1 {
		return nil, errors.New("assign sets a variable, not a property")
	}
	name := stmt.Assignment.Variable
	return func(w io.Writer, ctx render.Context) error {
		if err := stateOf(ctx).check(); err != nil {
			return err
		}
		v, err := ctx.Evaluate(stmt.ValueFn)
		if err != nil {
			return err
		}
		ctx.Set(name, v)
		return nil
	}, nil
}

// counterTag is increment (step 1: print, then add) and decrement (step
// -1: subtract, then print), with counters apart from assigned variables.
func counterTag(step int) render.TagCompiler {
	return func(args string) (tagFunc, error) {
		name := strings.TrimSpace(args)
		if !identifier.MatchString(name) {
			return nil, fmt.Errorf("expected a variable name, got %q", args)
		}
		return func(w io.Writer, ctx render.Context) error {
			st := stateOf(ctx)
			if err := st.check(); err != nil {
				return err
			}
			if st.counters == nil {
				st.counters = map[string]int{}
			}
			n := st.counters[name]
			if step < 0 {
				n--
				st.counters[name] = n
			} else {
				st.counters[name] = n + 1
			}
			_, err := io.WriteString(w, strconv.Itoa(n))
			return err
		}, nil
	}
}

func cycleTag(args string) (tagFunc, error) {
	stmt, err := expressions.ParseStatement(expressions.CycleStatementSelector, args)
	if err != nil {
		return nil, err
	}
	group, vals := stmt.Cycle.Group, stmt.Cycle.Values
	if len(vals) == 0 {
		return nil, errors.New("cycle needs values")
	}
	key := group + "\x00" + strings.Join(vals, "\x00")
	return func(w io.Writer, ctx render.Context) error {
		st := stateOf(ctx)
		if err := st.check(); err != nil {
			return err
		}
		if st.cycles == nil {
			st.cycles = map[string]int{}
		}
		n := st.cycles[key]
		st.cycles[key] = n + 1
		_, err := io.WriteString(w, vals[n%len(vals)])
		return err
	}, nil
}

// compileInline compiles Liquid source found inside a tag (echo, liquid).
func compileInline(cfg *render.Config, src string) (*render.BlockNode, error) {
	root, err := cfg.Compile(src, parser.SourceLoc{})
	if err != nil {
		return nil, err
	}
	return &render.BlockNode{Body: []render.Node{root}}, nil
}

func echoTag(cfg *render.Config) render.TagCompiler {
	return func(args string) (tagFunc, error) {
		block, err := compileInline(cfg, "{{ "+strings.ReplaceAll(args, "\n", " ")+" }}")
		if err != nil {
			return nil, err
		}
		return func(w io.Writer, ctx render.Context) error { return ctx.RenderBlock(w, block) }, nil
	}
}

// liquidTag is {% liquid %}: one tag per line, echo for output.
func liquidTag(cfg *render.Config) render.TagCompiler {
	return func(args string) (tagFunc, error) {
		var b strings.Builder
		for _, line := range strings.Split(args, "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "" || strings.HasPrefix(line, "#"):
			case line == "echo" || strings.HasPrefix(line, "echo "):
				if rest := strings.TrimSpace(strings.TrimPrefix(line, "echo")); rest != "" {
					b.WriteString("{{ " + rewriteKeywords(rest) + " }}")
				}
			default:
				b.WriteString("{% " + rewriteKeywords(line) + " %}")
			}
		}
		block, err := compileInline(cfg, b.String())
		if err != nil {
			return nil, err
		}
		return func(w io.Writer, ctx render.Context) error { return ctx.RenderBlock(w, block) }, nil
	}
}

func layoutTag(args string) (tagFunc, error) {
	arg := strings.TrimSpace(args)
	name := ""
	if arg != "none" {
		unq, err := strconv.Unquote(`"` + strings.Trim(arg, `'"`) + `"`)
		if err != nil || !snippetName.MatchString(unq) || len(arg) < 2 || (arg[0] != '\'' && arg[0] != '"') {
			return nil, fmt.Errorf("layout takes none or a quoted layout name, got %q", args)
		}
		name = unq
	}
	return func(w io.Writer, ctx render.Context) error {
		st := stateOf(ctx)
		st.layout, st.layoutSet = name, true
		return nil
	}, nil
}

func wrapCompiler(open, closing string) render.BlockCompiler {
	return func(render.BlockNode) (tagFunc, error) {
		return func(w io.Writer, ctx render.Context) error {
			if _, err := io.WriteString(w, open); err != nil {
				return err
			}
			if err := ctx.RenderChildren(w); err != nil {
				return err
			}
			_, err := io.WriteString(w, closing)
			return err
		}, nil
	}
}

// splitArgs splits tag arguments at the commas outside quotes and
// brackets.
func splitArgs(s string) []string {
	var parts []string
	var quote byte
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == ',' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	return parts
}

var keywordArg = regexp.MustCompile(`^\s*([A-Za-z_][\w-]*)\s*:\s*([\s\S]+?)\s*$`)

// kwarg is a named tag argument, name: expression.
type kwarg struct {
	name string
	expr expressions.Expression
}

// parseKeywords compiles name: value arguments.
func parseKeywords(parts []string) ([]kwarg, error) {
	var out []kwarg
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue
		}
		m := keywordArg.FindStringSubmatch(p)
		if m == nil {
			return nil, fmt.Errorf("expected name: value, got %q", strings.TrimSpace(p))
		}
		e, err := expressions.Parse(m[2])
		if err != nil {
			return nil, err
		}
		out = append(out, kwarg{m[1], e})
	}
	return out, nil
}

func evalKeywords(ctx render.Context, kws []kwarg) (map[string]any, error) {
	out := make(map[string]any, len(kws))
	for _, kw := range kws {
		v, err := ctx.Evaluate(kw.expr)
		if err != nil {
			return nil, err
		}
		out[kw.name] = v
	}
	return out, nil
}
