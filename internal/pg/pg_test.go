package pg

import (
	"fmt"
	"slices"
	"testing"
)

func TestKeysetAndTrimPage(t *testing.T) {
	for _, tc := range []struct {
		after, before int64
		cond, order   string
	}{
		{0, 0, "", "p.id"},
		{5, 0, " AND p.id > ?", "p.id"},
		{0, 9, " AND p.id < ?", "p.id DESC"},
	} {
		cond, _, order := Keyset("p.id", tc.after, tc.before)
		if cond != tc.cond || order != tc.order {
			t.Errorf("Keyset(p.id, %d, %d) = %q, %q; want %q, %q", tc.after, tc.before, cond, order, tc.cond, tc.order)
		}
	}
	rows := []int{1, 2, 3, 4}
	for _, tc := range []struct {
		rows     []int
		limit    int
		backward bool
		want     []int
		more     bool
	}{
		{rows, 3, false, []int{1, 2, 3}, true},
		{rows, 3, true, []int{2, 3, 4}, true}, // going back, 1 is the one past the page
		{rows, 4, false, rows, false},
		{nil, 3, false, nil, false},
	} {
		got, more := TrimPage(tc.rows, tc.limit, tc.backward)
		if !slices.Equal(got, tc.want) || more != tc.more {
			t.Errorf("TrimPage(%v, %d, %v) = %v, %v; want %v, %v", tc.rows, tc.limit, tc.backward, got, more, tc.want, tc.more)
		}
	}
}

func TestLikeEscape(t *testing.T) {
	if got := LikeEscape(`50%_off\`); got != `50\%\_off\\` {
		t.Errorf("LikeEscape = %q", got)
	}
}

func TestArrayLiterals(t *testing.T) {
	if got := TextArray([]string{`a`, `b "c"`, `d\e`, ``}); got != `{"a","b \"c\"","d\\e",""}` {
		t.Errorf("TextArray = %s", got)
	}
	if got := UUIDArray([]fmt.Stringer{}); got != "{}" {
		t.Errorf("UUIDArray(none) = %s, want {}", got)
	}
}
