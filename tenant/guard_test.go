package tenant

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// forbidden is SQL that would undo or sidestep the door if module code ran
// it inside a store's transaction: RESET ROLE or SET ROLE gives the
// application's own privileges back, a session-level setting leaks to the
// next user of a pooled connection, and naming a store schema bypasses
// search_path. PostgreSQL cannot forbid these to a member role, so the code
// base does. ("SET role = …" in an UPDATE assigns a column named role, as
// themes have; the statement SET ROLE takes no "=".)
var forbidden = regexp.MustCompile(`(?i)\b(reset\s+role|set\s+(local\s+)?role\b\s*[^=\s]|set\s+session|set\s+search_path|set_config\s*\(|search_path|reset\s+all|"?t_[0-9]+"?\.)`)

// TestModulesNeverTouchTheDoorsSettings scans every Go and SQL file outside
// the tenant package (which owns the door) and the control-plane migrations.
func TestModulesNeverTouchTheDoorsSettings(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", ".data", "tenant", "internal/testenv", "migrations/platform", "deploy":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".sql") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "//") || strings.HasPrefix(trimmed, "--") {
				continue // comments may speak of the mechanism
			}
			if m := forbidden.FindString(line); m != "" {
				t.Errorf("%s:%d uses %q; only the tenant door may set roles or search_path (line: %s)", rel, i+1, m, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if checked < 20 {
		t.Fatalf("checked only %d files; is the walk rooted at the repository?", checked)
	}
}

func TestForbiddenPattern(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{"SET ROLE t_1", true},
		{"set local role other", true},
		{"RESET ROLE", true},
		{"SELECT set_config('role', 'x', true)", true},
		{"SET search_path = t_2", true},
		{"UPDATE themes SET role = 'main' WHERE id = 1", false},
		{"UPDATE themes SET role='unpublished'", false},
	} {
		if got := forbidden.MatchString(tc.sql); got != tc.want {
			t.Errorf("forbidden.MatchString(%q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}
