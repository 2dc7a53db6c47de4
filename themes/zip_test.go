package themes

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

type zipEntry struct {
	name string
	body string
	mode fs.FileMode
}

func makeZip(t *testing.T, entries ...zipEntry) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

func minimalTheme(prefix string) []zipEntry {
	return []zipEntry{
		{name: prefix + "layout/theme.liquid", body: "<main>{{ content_for_layout }}</main>"},
		{name: prefix + "templates/index.liquid", body: "Hello {{ shop.name }}"},
		{name: prefix + "assets/theme.css", body: "body{}"},
		{name: prefix + "locales/en.default.json", body: `{"a": "b"}`},
	}
}

func TestFromZip(t *testing.T) {
	big := strings.Repeat("x", MaxSourceBytes+1)
	tests := []struct {
		name    string
		entries []zipEntry
		wantErr string // empty: loads
		is      error
	}{
		{name: "theme at the root", entries: minimalTheme("")},
		{name: "theme in a wrapping folder", entries: minimalTheme("dawn-main/")},
		{name: "hidden files and macOS metadata are skipped", entries: append(minimalTheme("t/"),
			zipEntry{name: "t/.DS_Store", body: "x"}, zipEntry{name: "__MACOSX/t/._theme.liquid", body: "x"})},
		{name: "zip slip", entries: append(minimalTheme(""), zipEntry{name: "../../etc/cron.d/evil", body: "x"}), wantErr: "leaves the archive", is: ErrBadZip},
		{name: "zip slip inside a folder", entries: append(minimalTheme(""), zipEntry{name: "snippets/../../evil.liquid", body: "x"}), wantErr: "leaves the archive", is: ErrBadZip},
		{name: "absolute path", entries: append(minimalTheme(""), zipEntry{name: "/etc/passwd", body: "x"}), wantErr: "absolute path", is: ErrBadZip},
		{name: "windows drive path", entries: append(minimalTheme(""), zipEntry{name: `C:\evil.liquid`, body: "x"}), wantErr: "absolute path", is: ErrBadZip},
		{name: "symbolic link", entries: append(minimalTheme(""), zipEntry{name: "snippets/link.liquid", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}), wantErr: "symbolic links", is: ErrBadZip},
		{name: "bad extension", entries: append(minimalTheme(""), zipEntry{name: "assets/payload.exe", body: "MZ"}), wantErr: "assets/payload.exe: has an extension not allowed"},
		{name: "unknown folder", entries: append(minimalTheme(""), zipEntry{name: "bin/run.sh", body: "#!/bin/sh"}), wantErr: "bin/run.sh: is not in a theme folder"},
		{name: "liquid file too big", entries: append(minimalTheme(""), zipEntry{name: "snippets/big.liquid", body: big}), wantErr: "snippets/big.liquid: is larger than"},
		{name: "syntax error", entries: append(minimalTheme(""), zipEntry{name: "templates/product.liquid", body: "<h1>{{ product.title }}</h1>\n\n{% if product %}\n<p>{{ product.price | money }</p>"}),
			wantErr: "templates/product.liquid:3: unterminated \"if\" block"},
		{name: "unknown tag", entries: append(minimalTheme(""), zipEntry{name: "snippets/x.liquid", body: "a\nb\n{% frobnicate %}"}),
			wantErr: `snippets/x.liquid:3: undefined tag "frobnicate"`},
		{name: "bad JSON", entries: append(minimalTheme(""), zipEntry{name: "config/settings_data.json", body: "{\n\"current\": \n}"}),
			wantErr: "config/settings_data.json:3: invalid JSON"},
		{name: "missing layout", entries: []zipEntry{{name: "templates/index.liquid", body: "x"}}, wantErr: "layout/theme.liquid: is missing"},
		{name: "not a zip", entries: nil, wantErr: "invalid theme archive", is: ErrBadZip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *bytes.Reader
			if tc.entries == nil {
				r = bytes.NewReader([]byte("not a zip at all"))
			} else {
				r = makeZip(t, tc.entries...)
			}
			th, err := FromZip(r, r.Size())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("FromZip = %v", err)
				}
				if got := th.Templates(); len(got) != 1 || got[0] != "index" {
					t.Errorf("Templates() = %v", got)
				}
				if _, ok := th.Files()["assets/theme.css"]; !ok {
					t.Errorf("Files() lacks assets/theme.css: %v", th.Files())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("FromZip = %v, want an error containing %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("FromZip = %v, want errors.Is %v", err, tc.is)
			}
		})
	}
}

// A zip bomb is refused on the bytes inflated, whatever its headers say.
func TestFromZipRefusesTooMuchData(t *testing.T) {
	huge := strings.Repeat("a", MaxFileBytes+1)
	r := makeZip(t, append(minimalTheme(""), zipEntry{name: "assets/huge.css", body: huge})...)
	if _, err := FromZip(r, r.Size()); err == nil || !strings.Contains(err.Error(), "assets/huge.css: is larger than") {
		t.Errorf("FromZip with a %d-byte asset = %v", len(huge), err)
	}

	// Headers that understate the size: the reader still stops at the limit.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range minimalTheme("") {
		w, _ := zw.Create(e.name)
		_, _ = w.Write([]byte(e.body))
	}
	h := &zip.FileHeader{Name: "assets/liar.css", Method: zip.Store, UncompressedSize64: 3}
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(strings.Repeat("b", MaxFileBytes+10)))
	_ = zw.Close()
	r = bytes.NewReader(buf.Bytes())
	if _, err := FromZip(r, r.Size()); err == nil {
		t.Errorf("FromZip with an understated entry = nil error")
	}

	var many []zipEntry
	for i := range MaxFiles + 1 {
		many = append(many, zipEntry{name: "assets/f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26) + ".css", body: "x"})
	}
	r = makeZip(t, append(minimalTheme(""), many...)...)
	if _, err := FromZip(r, r.Size()); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("FromZip with %d files = %v", len(many), err)
	}
}
