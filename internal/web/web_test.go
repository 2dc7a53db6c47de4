package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/web"
)

// testLog is a logger whose JSON lines the test can read back.
type testLog struct {
	buf bytes.Buffer
	log *slog.Logger
}

func newTestLog() *testLog {
	l := &testLog{}
	l.log = slog.New(slog.NewJSONHandler(&l.buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return l
}

// lines returns the records logged with message msg.
func (l *testLog) lines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// one returns the only record logged with message msg, or fails the test.
func (l *testLog) one(t testing.TB, msg string) map[string]any {
	t.Helper()
	recs := l.lines(t, msg)
	if len(recs) != 1 {
		t.Fatalf("logged %d %q lines, want 1; log:\n%s", len(recs), msg, l.buf.String())
	}
	return recs[0]
}

// serve runs one request through Middleware around h.
func serve(t testing.TB, l *testLog, h http.HandlerFunc, requestID string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://acme-tea.localhost/admin/products.json?page=2", strings.NewReader(`{}`))
	if requestID != "" {
		r.Header.Set("X-Request-Id", requestID)
	}
	w := httptest.NewRecorder()
	web.Middleware(l.log, h).ServeHTTP(w, r)
	return w
}

func TestStatus(t *testing.T) {
	tests := []struct {
		kind errs.Kind
		want int
	}{
		{errs.Invalid, http.StatusUnprocessableEntity},
		{errs.NotFound, http.StatusNotFound},
		{errs.Conflict, http.StatusConflict},
		{errs.Unauthenticated, http.StatusUnauthorized},
		{errs.Forbidden, http.StatusForbidden},
		{errs.RateLimited, http.StatusTooManyRequests},
		{errs.Unavailable, http.StatusServiceUnavailable},
		{errs.Internal, http.StatusInternalServerError},
		{"", http.StatusInternalServerError},
		{"no_such_kind", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		if got := web.Status(tt.kind); got != tt.want {
			t.Errorf("Status(%q) = %d, want %d", tt.kind, got, tt.want)
		}
	}
}

func TestWriteError(t *testing.T) {
	const secret = `pq: password authentication failed for user "storefleet"`
	fields := errs.Fields{}
	fields.Add("email", "is required")
	fields.Add("slug", "is too short")
	fields.Add("slug", "may hold only lowercase letters")

	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   any // the decoded JSON body
		wantLogged bool
	}{
		{
			name:       "field errors",
			err:        fields.Err(),
			wantStatus: http.StatusUnprocessableEntity,
			wantBody:   map[string]any{"errors": map[string]any{"email": []any{"is required"}, "slug": []any{"is too short", "may hold only lowercase letters"}}},
		},
		{
			name:       "field errors wrapped",
			err:        fmt.Errorf("sign up: %w", fields.Err()),
			wantStatus: http.StatusUnprocessableEntity,
			wantBody:   map[string]any{"errors": map[string]any{"email": []any{"is required"}, "slug": []any{"is too short", "may hold only lowercase letters"}}},
		},
		{
			name:       "conflict with fields",
			err:        &errs.Error{Kind: errs.Conflict, Message: "slug is already taken", Fields: map[string][]string{"slug": {"is already taken"}}},
			wantStatus: http.StatusConflict,
			wantBody:   map[string]any{"errors": map[string]any{"slug": []any{"is already taken"}}},
		},
		{
			name:       "not found",
			err:        fmt.Errorf("find product 7: %w", errs.E(errs.NotFound, "product not found")),
			wantStatus: http.StatusNotFound,
			wantBody:   map[string]any{"errors": "product not found"},
		},
		{
			name:       "invalid without fields",
			err:        errs.E(errs.Invalid, "request body is not valid JSON"),
			wantStatus: http.StatusUnprocessableEntity,
			wantBody:   map[string]any{"errors": "request body is not valid JSON"},
		},
		{
			name:       "forbidden hides its cause",
			err:        errs.Wrap(errs.Forbidden, errors.New(secret), "this store is suspended"),
			wantStatus: http.StatusForbidden,
			wantBody:   map[string]any{"errors": "this store is suspended"},
		},
		{
			name:       "unauthenticated",
			err:        errs.E(errs.Unauthenticated, "sign in first"),
			wantStatus: http.StatusUnauthorized,
			wantBody:   map[string]any{"errors": "sign in first"},
		},
		{
			name:       "rate limited",
			err:        errs.E(errs.RateLimited, "slow down"),
			wantStatus: http.StatusTooManyRequests,
			wantBody:   map[string]any{"errors": "slow down"},
		},
		{
			name:       "plain error",
			err:        fmt.Errorf("insert order: %w", errors.New(secret)),
			wantStatus: http.StatusInternalServerError,
			wantBody:   map[string]any{"errors": "internal error"},
			wantLogged: true,
		},
		{
			name:       "internal kind",
			err:        errs.Wrap(errs.Internal, errors.New(secret), "cannot save the order: "+secret),
			wantStatus: http.StatusInternalServerError,
			wantBody:   map[string]any{"errors": "internal error"},
			wantLogged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLog()
			const id = "req-7f3a.B_9"
			w := serve(t, l, func(w http.ResponseWriter, r *http.Request) {
				web.WriteError(w, r, l.log, tt.err)
			}, id)

			if w.Code != tt.wantStatus {
				t.Errorf("WriteError(%v) status = %d, want %d", tt.err, w.Code, tt.wantStatus)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("WriteError(%v) Content-Type = %q, want JSON", tt.err, ct)
			}
			var body any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("WriteError(%v) body %q is not JSON: %v", tt.err, w.Body, err)
			}
			if diff := cmp.Diff(tt.wantBody, body); diff != "" {
				t.Errorf("WriteError(%v) body mismatch (-want +got):\n%s", tt.err, diff)
			}
			if strings.Contains(w.Body.String(), "password authentication") {
				t.Errorf("WriteError(%v) body = %s: leaks the cause", tt.err, w.Body)
			}

			failed := l.lines(t, "request failed")
			if !tt.wantLogged {
				if len(failed) != 0 {
					t.Errorf("WriteError(%v) logged %d \"request failed\" lines, want none for a %d", tt.err, len(failed), tt.wantStatus)
				}
				return
			}
			if len(failed) != 1 {
				t.Fatalf("WriteError(%v) logged %d \"request failed\" lines, want 1; log:\n%s", tt.err, len(failed), l.buf.String())
			}
			rec := failed[0]
			if rec["level"] != "ERROR" || rec["request_id"] != id {
				t.Errorf("WriteError(%v) logged %v, want level ERROR and request_id %q", tt.err, rec, id)
			}
			if got, _ := rec["err"].(string); !strings.Contains(got, "password authentication failed") {
				t.Errorf("WriteError(%v) logged err = %q, want the cause in the log", tt.err, got)
			}
			if !strings.Contains(l.buf.String(), id) {
				t.Errorf("WriteError(%v) log does not name the request id %q:\n%s", tt.err, id, l.buf.String())
			}
		})
	}
}

// TestWriteErrorUnavailable: a 503 is logged like any 5xx.
func TestWriteErrorUnavailable(t *testing.T) {
	l := newTestLog()
	err := errs.Wrap(errs.Unavailable, errors.New("dial tcp: connection refused"), "no shard has room for a new store")
	w := serve(t, l, func(w http.ResponseWriter, r *http.Request) { web.WriteError(w, r, l.log, err) }, "abc")
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("WriteError(%v) status = %d, want %d", err, w.Code, http.StatusServiceUnavailable)
	}
	if strings.Contains(w.Body.String(), "connection refused") {
		t.Errorf("WriteError(%v) body = %s: leaks the cause", err, w.Body)
	}
	if rec := l.one(t, "request failed"); rec["request_id"] != "abc" {
		t.Errorf("WriteError(%v) logged request_id = %v, want %q", err, rec["request_id"], "abc")
	}
}

func TestErrorBody(t *testing.T) {
	f := errs.Fields{}
	f.Add("name", "is required")
	tests := []struct {
		err  error
		want map[string]any
	}{
		{f.Err(), map[string]any{"errors": map[string][]string{"name": {"is required"}}}},
		{errs.E(errs.NotFound, "gone"), map[string]any{"errors": "gone"}},
		{errors.New("secret"), map[string]any{"errors": "internal error"}},
		{&errs.Error{Kind: errs.Invalid, Message: "bad", Fields: map[string][]string{}}, map[string]any{"errors": "bad"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, web.ErrorBody(tt.err)); diff != "" {
			t.Errorf("ErrorBody(%v) mismatch (-want +got):\n%s", tt.err, diff)
		}
	}
}

func TestMiddlewareRequestID(t *testing.T) {
	// handler reports the id it saw in its context.
	var seen string
	handler := func(w http.ResponseWriter, r *http.Request) {
		seen = web.RequestID(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}

	t.Run("sane id echoed", func(t *testing.T) {
		for _, id := range []string{"abc", "req-123_A.b", "0", strings.Repeat("x", 64), uuid.NewString()} {
			l := newTestLog()
			w := serve(t, l, handler, id)
			if got := w.Header().Get("X-Request-Id"); got != id {
				t.Errorf("Middleware with X-Request-Id %q: response id = %q, want it echoed", id, got)
			}
			if seen != id {
				t.Errorf("Middleware with X-Request-Id %q: RequestID(ctx) = %q, want %q", id, seen, id)
			}
			if got := l.one(t, "request")["request_id"]; got != id {
				t.Errorf("Middleware with X-Request-Id %q: logged request_id = %v, want %q", id, got, id)
			}
		}
	})

	t.Run("insane id replaced", func(t *testing.T) {
		for _, id := range []string{
			"has space", strings.Repeat("x", 65), "a\nb", "a\tb", "ünïcode", "a/b", "<script>", "a;b", "abc\n", `"quoted"`,
		} {
			l := newTestLog()
			w := serve(t, l, handler, id)
			got := w.Header().Get("X-Request-Id")
			if got == id {
				t.Errorf("Middleware with X-Request-Id %q: response id echoed it, want a fresh one", id)
			}
			if _, err := uuid.Parse(got); err != nil {
				t.Errorf("Middleware with X-Request-Id %q: response id = %q, want a fresh UUID (%v)", id, got, err)
			}
			if seen != got {
				t.Errorf("Middleware with X-Request-Id %q: RequestID(ctx) = %q, want the response id %q", id, seen, got)
			}
			if logged := l.one(t, "request")["request_id"]; logged != got {
				t.Errorf("Middleware with X-Request-Id %q: logged request_id = %v, want %q", id, logged, got)
			}
		}
	})

	t.Run("missing id made fresh each time", func(t *testing.T) {
		l := newTestLog()
		a := serve(t, l, handler, "").Header().Get("X-Request-Id")
		b := serve(t, l, handler, "").Header().Get("X-Request-Id")
		if a == "" || a == b {
			t.Errorf("two requests without X-Request-Id got ids %q and %q, want two different ids", a, b)
		}
		for _, id := range []string{a, b} {
			if _, err := uuid.Parse(id); err != nil {
				t.Errorf("fresh request id %q is not a UUID: %v", id, err)
			}
		}
	})

	t.Run("no middleware, no id", func(t *testing.T) {
		if got := web.RequestID(context.Background()); got != "" {
			t.Errorf("RequestID(context.Background()) = %q, want \"\"", got)
		}
	})
}

func TestMiddlewareLogsEachRequestOnce(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantBytes  int
	}{
		{"status and body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, "hello")
		}, http.StatusCreated, 5},
		{"body only is 200", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "hi")
			fmt.Fprint(w, " there")
		}, http.StatusOK, 8},
		{"first status counts", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			w.WriteHeader(http.StatusTeapot) // superfluous: net/http ignores it
		}, http.StatusAccepted, 0},
		{"error through WriteError", func(w http.ResponseWriter, r *http.Request) {
			web.WriteError(w, r, slog.New(slog.DiscardHandler), errs.E(errs.NotFound, "nope"))
		}, http.StatusNotFound, len(`{"errors":"nope"}` + "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLog()
			w := serve(t, l, tt.handler, "id-1")
			if w.Code != tt.wantStatus {
				t.Errorf("response status = %d, want %d", w.Code, tt.wantStatus)
			}
			if n := len(l.lines(t, "request")); n != 1 {
				t.Fatalf("logged %d \"request\" lines, want 1; log:\n%s", n, l.buf.String())
			}
			rec := l.one(t, "request")
			want := map[string]any{
				"level": "INFO", "msg": "request", "request_id": "id-1", "method": "POST", "host": "acme-tea.localhost",
				"path": "/admin/products.json", "status": float64(tt.wantStatus), "bytes": float64(tt.wantBytes),
			}
			delete(rec, "time")
			if _, ok := rec["duration"].(float64); !ok {
				t.Errorf("request line duration = %v, want a number", rec["duration"])
			}
			delete(rec, "duration")
			if diff := cmp.Diff(want, rec); diff != "" {
				t.Errorf("request line mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMiddlewareAddLogAttrs(t *testing.T) {
	l := newTestLog()
	serve(t, l, func(w http.ResponseWriter, r *http.Request) {
		web.AddLogAttrs(r.Context(), slog.String("tenant", "acme-tea"))
		web.AddLogAttrs(r.Context(), slog.Int("user", 7), slog.Bool("owner", true))
		w.WriteHeader(http.StatusOK)
	}, "attrs")
	rec := l.one(t, "request")
	for k, want := range map[string]any{"tenant": "acme-tea", "user": float64(7), "owner": true, "request_id": "attrs", "status": float64(200)} {
		if rec[k] != want {
			t.Errorf("request line %s = %v, want %v; line: %v", k, rec[k], want, rec)
		}
	}

	// Outside the middleware there is no line to add to: a no-op, not a panic.
	web.AddLogAttrs(context.Background(), slog.String("tenant", "x"))
}

func TestMiddlewareRecoversPanic(t *testing.T) {
	t.Run("before writing", func(t *testing.T) {
		l := newTestLog()
		w := serve(t, l, func(w http.ResponseWriter, r *http.Request) {
			web.AddLogAttrs(r.Context(), slog.String("tenant", "acme-tea"))
			panic("secret: nil map in order total")
		}, "boom-1")
		if w.Code != http.StatusInternalServerError {
			t.Errorf("panicking handler: status = %d, want 500", w.Code)
		}
		var body any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("panicking handler: body %q is not JSON: %v", w.Body, err)
		}
		if diff := cmp.Diff(map[string]any{"errors": "internal error"}, body); diff != "" {
			t.Errorf("panicking handler: body mismatch (-want +got):\n%s", diff)
		}
		if strings.Contains(w.Body.String(), "secret") {
			t.Errorf("panicking handler: body %s leaks the panic value", w.Body)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("panicking handler: Content-Type = %q, want JSON", ct)
		}
		if got := w.Header().Get("X-Request-Id"); got != "boom-1" {
			t.Errorf("panicking handler: X-Request-Id = %q, want %q", got, "boom-1")
		}
		p := l.one(t, "panic serving request")
		if p["request_id"] != "boom-1" || p["level"] != "ERROR" || !strings.Contains(fmt.Sprint(p["panic"]), "nil map") {
			t.Errorf("panic log line = %v, want level ERROR, request_id boom-1 and the panic value", p)
		}
		rec := l.one(t, "request")
		if rec["status"] != float64(500) || rec["tenant"] != "acme-tea" {
			t.Errorf("request line after a panic = %v, want status 500 and the attributes added before it", rec)
		}
	})

	t.Run("after writing the header", func(t *testing.T) {
		l := newTestLog()
		w := serve(t, l, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, "partial")
			panic("late")
		}, "boom-2")
		// The status is on the wire already: nothing more is written.
		if w.Code != http.StatusAccepted || w.Body.String() != "partial" {
			t.Errorf("handler panicking after writing: got %d %q, want %d %q", w.Code, w.Body, http.StatusAccepted, "partial")
		}
		l.one(t, "panic serving request")
		if rec := l.one(t, "request"); rec["status"] != float64(http.StatusAccepted) {
			t.Errorf("request line status = %v, want %d", rec["status"], http.StatusAccepted)
		}
	})

	t.Run("ErrAbortHandler passes through", func(t *testing.T) {
		l := newTestLog()
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("panic(http.ErrAbortHandler) through Middleware: recovered %v, want http.ErrAbortHandler", p)
			}
			if n := len(l.lines(t, "panic serving request")); n != 0 {
				t.Errorf("panic(http.ErrAbortHandler) logged %d panic lines, want none", n)
			}
		}()
		serve(t, l, func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }, "abort")
	})
}

// TestMiddlewareUnwrap: the status writer lets http.ResponseController reach
// the real writer, for flushing.
func TestMiddlewareUnwrap(t *testing.T) {
	l := newTestLog()
	w := serve(t, l, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "chunk")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush through Middleware = %v, want nil", err)
		}
	}, "flush")
	if !w.Flushed {
		t.Errorf("ResponseController.Flush through Middleware did not reach the recorder")
	}
}

// signup is a small request body for the DecodeJSON tests.
type signup struct {
	Email string   `json:"email"`
	Age   int      `json:"age"`
	Tags  []string `json:"tags"`
	Addr  struct {
		City string `json:"city"`
	} `json:"address"`
}

func decode(body string) (signup, error) {
	var v signup
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	err := web.DecodeJSON(httptest.NewRecorder(), r, &v)
	return v, err
}

func TestDecodeJSON(t *testing.T) {
	var want signup
	want.Email, want.Age, want.Tags, want.Addr.City = "a@b.co", 30, []string{"x", "y"}, "Lyon"
	for _, body := range []string{
		`{"email":"a@b.co","age":30,"tags":["x","y"],"address":{"city":"Lyon"}}`,
		" \n\t{\"email\":\"a@b.co\",\"age\":30,\"tags\":[\"x\",\"y\"],\"address\":{\"city\":\"Lyon\"}}\n\n",
	} {
		got, err := decode(body)
		if err != nil {
			t.Errorf("DecodeJSON(%q) = %v, want nil", body, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DecodeJSON(%q) decoded mismatch (-want +got):\n%s", body, diff)
		}
	}
	if got, err := decode(`{}`); err != nil || !cmp.Equal(got, signup{}) {
		t.Errorf("DecodeJSON({}) = %+v, %v; want the zero value, nil", got, err)
	}
}

func TestDecodeJSONRefuses(t *testing.T) {
	big := `{"email":"` + strings.Repeat("a", 1<<20) + `"}`
	tests := []struct {
		name    string
		body    string
		wantMsg string // the message must say this
	}{
		{"unknown field", `{"email":"a@b.co","admin":true}`, `unknown field "admin"`},
		{"wrong type names the field", `{"age":"thirty"}`, "field age must be"},
		{"wrong type in an array", `{"tags":["x",2]}`, "field tags must be"},
		{"wrong type in a nested object", `{"address":{"city":7}}`, "field address.city must be"},
		{"number too big", `{"age":1e400}`, "field age must be"},
		{"trailing object", `{"email":"a@b.co"} {"email":"c@d.co"}`, "data after the JSON object"},
		{"trailing garbage", `{"email":"a@b.co"} x`, "data after the JSON object"},
		{"trailing number", `{"email":"a@b.co"}1`, "data after the JSON object"},
		{"trailing brace", `{"email":"a@b.co"}}`, "data after the JSON object"},
		{"trailing bracket", `{"email":"a@b.co"}]`, "data after the JSON object"},
		{"trailing data past 1 MiB", `{"email":"a@b.co"}` + strings.Repeat(" ", 1<<20) + "x", "larger than 1 MiB"},
		{"array for an object", `[1]`, "the body must be a JSON object"},
		{"string for an object", `"s"`, "the body must be a JSON object"},
		{"number names the JSON type", `{"age":"thirty"}`, "field age must be a whole number"},
		{"object names the JSON type", `{"address":5}`, "field address must be an object"},
		{"body over 1 MiB", big, "larger than 1 MiB"},
		{"syntax error", `{"email":}`, "invalid character"},
		{"single quotes", `{'email':'a@b.co'}`, "invalid character"},
		{"truncated", `{"email":"a@b`, "unexpected EOF"},
		{"empty body", ``, "request body is empty"},
		{"only whitespace", " \n ", "request body is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.body)
			short := tt.body
			if len(short) > 40 {
				short = short[:40] + "…"
			}
			if k := errs.KindOf(err); err == nil || k != errs.Invalid {
				t.Fatalf("DecodeJSON(%q) = %v (kind %q), want kind %q", short, err, k, errs.Invalid)
			}
			msg := errs.MessageOf(err)
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("DecodeJSON(%q) message = %q, want it to say %q", short, msg, tt.wantMsg)
			}
			if !strings.HasPrefix(msg, "request body ") || strings.Contains(msg, "json: ") {
				t.Errorf("DecodeJSON(%q) message = %q, want a sentence about the request body without Go's json: prefix", short, msg)
			}
			if web.Status(errs.KindOf(err)) != http.StatusUnprocessableEntity {
				t.Errorf("DecodeJSON(%q) error maps to status %d, want 422", short, web.Status(errs.KindOf(err)))
			}
		})
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@b.co","age":3,"tags":["x"],"address":{"city":"Lyon"}}`, `{}`, ``, `null`, `[]`, `"s"`, `1`,
		`{"email":1}`, `{"x":1}`, `{"age":1e400}`, `{} {}`, `{}}`, `{"tags":[1]}`, `{"address":5}`,
		`{"email":"\ud800"}`, "\xff", `{"EMAIL":"case"}`, `{"age":-0.5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v signup
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		err := web.DecodeJSON(httptest.NewRecorder(), r, &v)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid {
				t.Fatalf("DecodeJSON(%q) = %v, want kind %q", body, err, errs.Invalid)
			}
			if msg := errs.MessageOf(err); !strings.HasPrefix(msg, "request body ") {
				t.Fatalf("DecodeJSON(%q) message = %q, want it to start %q", body, msg, "request body ")
			}
			return
		}
		// Only an object (or null) decodes into a struct.
		rest := bytes.TrimLeft(body, " \t\r\n")
		if !bytes.HasPrefix(rest, []byte("{")) && !bytes.HasPrefix(rest, []byte("null")) {
			t.Fatalf("DecodeJSON(%q) = nil, want an error for a body that is not an object", body)
		}
	})
}

func TestDecodeJSONNamesNoGoTypes(t *testing.T) {
	for _, body := range []string{`[1]`, `{"address":5}`, `{"age":1e400}`, `{"tags":{}}`} {
		_, err := decode(body)
		if msg := errs.MessageOf(err); strings.Contains(msg, "web.") || strings.Contains(msg, "struct") || strings.Contains(msg, "int") && !strings.Contains(msg, "point") {
			t.Errorf("DecodeJSON(%q) message = %q, want JSON type names, not Go's", body, msg)
		}
	}
}

func TestServerErrorsShowNoMessage(t *testing.T) {
	for _, err := range []error{
		errs.E(errs.Internal, "secret detail"),
		errs.E(errs.Unavailable, "shard 7 at 10.0.0.5 is down"),
		errors.New("pq: password authentication failed"),
	} {
		body := web.ErrorBody(err)
		if s := fmt.Sprint(body); strings.Contains(s, "secret") || strings.Contains(s, "10.0.0.5") || strings.Contains(s, "pq:") {
			t.Errorf("ErrorBody(%v) = %v, want no message from the error itself", err, body)
		}
	}
}

func TestMiddlewareLogsUnwrittenStatusAndAborts(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	h := web.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/quiet", nil))
	if !strings.Contains(buf.String(), `"status":200`) {
		t.Errorf("log for a handler that wrote nothing = %s, want status 200 (what net/http sends)", buf.String())
	}
	buf.Reset()
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("ErrAbortHandler was not passed on to net/http: recovered %v", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil))
	}()
	if !strings.Contains(buf.String(), `"msg":"request"`) || !strings.Contains(buf.String(), `"aborted":true`) {
		t.Errorf("log for an aborted request = %s, want one request line marked aborted", buf.String())
	}
}
