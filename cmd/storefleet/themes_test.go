package main

import (
	"archive/zip"
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/themes"
)

// writeThemeZip writes the built-in theme base, with changes (nil deletes
// a file), as a zip archive under dir.
func writeThemeZip(t *testing.T, dir, name, base string, changes map[string]*string) string {
	t.Helper()
	th, err := themes.LoadBuiltin(base)
	if err != nil {
		t.Fatal(err)
	}
	files := th.Files()
	for k, v := range changes {
		if v == nil {
			delete(files, k)
			continue
		}
		files[k] = []byte(*v)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for k, v := range files {
		w, err := zw.Create(k)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(v)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestThemeCommands(t *testing.T) {
	dbURL := testenv.Database(t)
	s := startServer(t, dbURL)
	ctx := context.Background()
	if _, err := s.deps.db.Provision(ctx, tenant.NewStore{Slug: "cli-themes", Name: "CLI Themes"}, nil); err != nil {
		t.Fatal(err)
	}
	sh := func(args ...string) (string, string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := run(ctx, envFor(dbURL), args, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	dir := t.TempDir()

	out, _, err := sh("theme", "list", "cli-themes")
	if err != nil || !regexp.MustCompile(`(?m)^1\s+Harbor\s+main\s+harbor\s+1\s`).MatchString(out) {
		t.Fatalf("theme list = %v\n%s, want Harbor, main", err, out)
	}

	// A broken archive: every problem, by file and line, and nothing stored.
	broken := "<p>\n{% if %}\n"
	badJSON := "{\n\"current\": oops}"
	zipPath := writeThemeZip(t, dir, "broken.zip", "monolith", map[string]*string{
		"snippets/price.liquid": &broken, "config/settings_data.json": &badJSON, "layout/theme.liquid": nil})
	out, errOut, err := sh("theme", "upload", "cli-themes", zipPath)
	if err == nil || !strings.Contains(err.Error(), "3 problems") || out != "" {
		t.Errorf("theme upload of a broken theme = %v, printed %q; want an error counting 3 problems", err, out)
	}
	for _, want := range []string{"snippets/price.liquid:2: ", "config/settings_data.json:2: ", "layout/theme.liquid: is missing"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("theme upload of a broken theme said\n%s\nwant a line with %q", errOut, want)
		}
	}
	if _, _, err := sh("theme", "upload", "cli-themes", filepath.Join(dir, "none.zip")); err == nil {
		t.Errorf("theme upload of a missing file succeeded")
	}

	// A good one.
	zipPath = writeThemeZip(t, dir, "mono-custom.zip", "monolith", nil)
	out, _, err = sh("theme", "upload", "cli-themes", zipPath, "--name", "Mono Custom")
	if err != nil || !strings.Contains(out, `uploaded theme 2 "Mono Custom"`) {
		t.Fatalf("theme upload = %v %q", err, out)
	}
	if out, _, _ := sh("theme", "list", "cli-themes"); !regexp.MustCompile(`(?m)^2\s+Mono Custom\s+unpublished\s+\(uploaded\)`).MatchString(out) {
		t.Errorf("theme list after upload =\n%s", out)
	}

	// Its preview link works on the server.
	out, _, err = sh("theme", "preview-url", "cli-themes", "2")
	link, perr := url.Parse(strings.TrimSpace(out))
	if err != nil || perr != nil || link.Host != "cli-themes.localhost:8080" || link.Query().Get("preview_theme_id") != "2" {
		t.Fatalf("theme preview-url = %v %q", err, out)
	}
	r := s.do(t, "GET", "cli-themes.localhost", link.RequestURI(), "")
	if r.status != 200 || !strings.Contains(r.body, "monolith.css") || r.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("GET the preview link = %d %q, want the uploaded theme, private", r.status, r.header.Get("Cache-Control"))
	}
	if r := s.do(t, "GET", "cli-themes.localhost", "/?preview_theme_id=2", ""); !strings.Contains(r.body, "/assets/theme.css") {
		t.Errorf("preview_theme_id without the token showed another theme than the published one")
	}
	if _, _, err := sh("theme", "preview-url", "cli-themes", "99"); err == nil || !strings.Contains(err.Error(), "theme not found") {
		t.Errorf("theme preview-url of an unknown theme = %v, want theme not found", err)
	}

	// Publish, then delete: never the published theme.
	if out, _, err := sh("theme", "publish", "cli-themes", "2"); err != nil || !strings.Contains(out, `published theme 2 "Mono Custom"`) {
		t.Errorf("theme publish = %v %q", err, out)
	}
	if out, _, _ := sh("theme", "list", "cli-themes"); !regexp.MustCompile(`(?m)^2\s+Mono Custom\s+main`).MatchString(out) || !regexp.MustCompile(`(?m)^1\s+Harbor\s+unpublished`).MatchString(out) {
		t.Errorf("theme list after publish =\n%s", out)
	}
	if _, _, err := sh("theme", "delete", "cli-themes", "2"); err == nil || !strings.Contains(err.Error(), "cannot be deleted") {
		t.Errorf("theme delete of the published theme = %v, want refused", err)
	}
	if out, _, err := sh("theme", "delete", "cli-themes", "1"); err != nil || !strings.Contains(out, `deleted theme 1 "Harbor"`) {
		t.Errorf("theme delete = %v %q", err, out)
	}
	if _, _, err := sh("theme", "publish", "cli-themes", "1"); err == nil || !strings.Contains(err.Error(), "theme not found") {
		t.Errorf("theme publish of a deleted theme = %v, want theme not found", err)
	}
	if _, _, err := sh("theme", "publish", "cli-themes", "x"); err == nil || !strings.Contains(err.Error(), "not a theme id") {
		t.Errorf("theme publish x = %v", err)
	}
	if _, _, err := sh("theme", "list", "no-such-store"); err == nil {
		t.Errorf("theme list of an unknown store succeeded")
	}
}
