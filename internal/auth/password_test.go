package auth_test

import (
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
)

func TestValidatePasswordAccepts(t *testing.T) {
	for _, pw := range []string{
		"correct horse battery staple",
		"correcthorsebatterystaple",
		"Tr0ub4dor&3-Xylophone",
		"vG7#qL2!zP9@",
		"ünïcødé-pässwörd-öf-längth",
		strings.Repeat("kX9$", auth.MaxPasswordLength/4), // exactly the limit
	} {
		if err := auth.ValidatePassword(pw); err != nil {
			t.Errorf("ValidatePassword(%q) = %v, want nil", pw, err)
		}
	}
}

func TestValidatePasswordRefuses(t *testing.T) {
	tests := []struct {
		name     string
		password string
		wantMsg  string // the message must say this, so the person knows why
	}{
		{"empty", "", "must be at least 10 characters long"},
		{"nine bytes", "Xk9$mQ2#p", "must be at least 10 characters long"},
		{"seven characters in more bytes", "Äb1!üßé", "must be at least 10 characters long"},
		{"short and strong", "aB3$", "must be at least 10 characters long"},
		{"one over the limit", strings.Repeat("kX9$", auth.MaxPasswordLength/4) + "z", "must be at most 128 characters long"},
		{"far over the limit", strings.Repeat("correct horse battery staple ", 100), "must be at most 128 characters long"},
		{"one letter repeated", "aaaaaaaaaaaa", "too easy to guess"},
		{"word and digits", "password123", "too easy to guess"},
		{"digits in order", "1234567890", "too easy to guess"},
		{"keyboard row", "qwertyuiop", "too easy to guess"},
		{"alphabet", "abcdefghij", "too easy to guess"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := auth.ValidatePassword(tt.password)
			if k := errs.KindOf(err); err == nil || k != errs.Invalid {
				t.Fatalf("ValidatePassword(%q) = %v (kind %q), want kind %q", tt.password, err, k, errs.Invalid)
			}
			msg := errs.MessageOf(err)
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("ValidatePassword(%q) message = %q, want it to say %q", tt.password, msg, tt.wantMsg)
			}
			if !strings.HasPrefix(msg, "password ") {
				t.Errorf("ValidatePassword(%q) message = %q, want it to start with %q", tt.password, msg, "password ")
			}
			if strings.Contains(msg, tt.password) && tt.password != "" {
				t.Errorf("ValidatePassword(%q) message = %q: repeats the password", tt.password, msg)
			}
		})
	}
}

// TestValidatePasswordSaysHowToImprove: a password refused as guessable is
// told what would help, without the validator's own "insecure password"
// preamble.
func TestValidatePasswordSaysHowToImprove(t *testing.T) {
	for _, pw := range []string{"aaaaaaaaaaaa", "password123"} {
		msg := errs.MessageOf(auth.ValidatePassword(pw))
		if !strings.Contains(msg, "try ") || !strings.Contains(msg, "longer password") {
			t.Errorf("ValidatePassword(%q) message = %q, want advice (try … a longer password)", pw, msg)
		}
		if strings.Contains(msg, "insecure password") {
			t.Errorf("ValidatePassword(%q) message = %q, want the validator's preamble trimmed", pw, msg)
		}
	}
	if msg := errs.MessageOf(auth.ValidatePassword("password123")); !strings.Contains(msg, "uppercase") {
		t.Errorf("ValidatePassword(password123) message = %q, want it to suggest uppercase letters", msg)
	}
}

// TestPasswordHashing hashes twice only: argon2id takes ~25 ms a hash.
func TestPasswordHashing(t *testing.T) {
	const pw = "correct horse battery staple"
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatalf("HashPassword(%q) = %v", pw, err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(hash, want) {
		t.Errorf("HashPassword(%q) = %q, want a PHC string starting %q", pw, hash, want)
	}
	if strings.Contains(hash, pw) {
		t.Errorf("HashPassword(%q) = %q: contains the password", pw, hash)
	}

	again, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatalf("HashPassword(%q) second time = %v", pw, err)
	}
	if again == hash {
		t.Errorf("HashPassword(%q) twice = %q both times, want different salts", pw, hash)
	}

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"right password", pw, true},
		{"wrong password", "correct horse battery stapler", false},
		{"case matters", "Correct horse battery staple", false},
	}
	for _, tt := range tests {
		ok, err := auth.CheckPassword(tt.password, hash)
		if err != nil || ok != tt.want {
			t.Errorf("%s: CheckPassword(%q, hash) = %v, %v; want %v, nil", tt.name, tt.password, ok, err, tt.want)
		}
	}
}

// TestCheckPasswordTooLong: an over-long password is refused before hashing,
// as plain false: the hash is never computed, so this costs nothing.
func TestCheckPasswordTooLong(t *testing.T) {
	// A syntactically valid hash whose check would fail anyway; an over-long
	// password must not even get that far.
	const hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY"
	for _, n := range []int{auth.MaxPasswordLength + 1, 10 * 1024, 1 << 20} {
		ok, err := auth.CheckPassword(strings.Repeat("a", n), hash)
		if ok || err != nil {
			t.Errorf("CheckPassword(%d bytes, hash) = %v, %v; want false, nil", n, ok, err)
		}
	}
	// Even against garbage: length is checked first, so there is no error.
	if ok, err := auth.CheckPassword(strings.Repeat("a", auth.MaxPasswordLength+1), "not a hash"); ok || err != nil {
		t.Errorf("CheckPassword(129 bytes, %q) = %v, %v; want false, nil", "not a hash", ok, err)
	}
}

func TestCheckPasswordBadHash(t *testing.T) {
	for _, hash := range []string{"", "not a hash", "$argon2id$v=19$", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"} {
		ok, err := auth.CheckPassword("correct horse battery staple", hash)
		if ok || err == nil {
			t.Errorf("CheckPassword(pw, %q) = %v, %v; want false and an error", hash, ok, err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	long := func(n int) string { // an address of exactly n bytes
		const domain = "@example.com"
		return strings.Repeat("a", n-len(domain)) + domain
	}
	tests := []struct {
		name    string
		in      string
		want    string
		wantMsg string // "" when accepted; else what the message must say
	}{
		{"plain", "a@b.co", "a@b.co", ""},
		{"spaces trimmed", "  jane@example.com\t\n", "jane@example.com", ""},
		{"case kept", "Jane.Doe@Example.COM", "Jane.Doe@Example.COM", ""},
		{"plus tag and subdomains", "first.last+shop@mail.example.co.uk", "first.last+shop@mail.example.co.uk", ""},
		{"address literal", "a@[1.2.3.4]", "", "email"},
		{"label starting with a hyphen", "a@-b.co", "", "no valid domain"},
		{"underscore in the domain", "a@b.c_o", "", "no valid domain"},
		{"longest allowed", long(254), long(254), ""},
		{"empty", "", "", "email is required"},
		{"only spaces", " \t ", "", "email is required"},
		{"display name", "A <a@b.co>", "", "not a valid address"},
		{"angle brackets only", "<a@b.co>", "", "not a valid address"},
		{"quoted display name", `"Jane" <jane@example.com>`, "", "not a valid address"},
		{"trailing comment", "a@b.co (Jane)", "", "not a valid address"},
		{"two addresses", "a@b.co, c@d.co", "", "not a valid address"},
		{"no at", "ab.co", "", "not a valid address"},
		{"two ats", "a@b@c.co", "", "not a valid address"},
		{"no local part", "@b.co", "", "not a valid address"},
		{"no domain", "a@", "", "not a valid address"},
		{"no dot in domain", "a@localhost", "", "has no valid domain"},
		{"no dot in domain, long", "someone@example", "", "has no valid domain"},
		{"domain ends with dot", "a@b.co.", "", "not a valid address"},
		{"domain starts with dot", "a@.b.co", "", "not a valid address"},
		{"space inside", "a b@c.co", "", "not a valid address"},
		{"one over 254", long(255), "", "not a valid address"},
		{"far over 254", long(1000), "", "not a valid address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.NormalizeEmail(tt.in)
			if tt.wantMsg == "" {
				if err != nil || got != tt.want {
					t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || errs.KindOf(err) != errs.Invalid {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want kind %q", tt.in, got, err, errs.Invalid)
			}
			if got != "" {
				t.Errorf("NormalizeEmail(%q) = %q with an error, want \"\"", tt.in, got)
			}
			if msg := errs.MessageOf(err); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("NormalizeEmail(%q) message = %q, want it to say %q", tt.in, msg, tt.wantMsg)
			}
		})
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"a@b.co", " a@b.co ", "A <a@b.co>", "a@localhost", "", "@", "a@b@c.co", `"a@b"@c.co`,
		`"a b"@c.co`, "a@[127.0.0.1]", "a@b.co.", "a@.co", "ü@ö.de", "a@b.co (x)", "a@b..co",
		"a@b.co\x00", "\u00a0a@b.co\u2003", strings.Repeat("a", 250) + "@b.co",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := auth.NormalizeEmail(in)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid {
				t.Fatalf("NormalizeEmail(%q) = %v, want kind %q", in, err, errs.Invalid)
			}
			if got != "" {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want \"\" with an error", in, got, err)
			}
			return
		}
		if want := strings.TrimSpace(in); got != want {
			t.Fatalf("NormalizeEmail(%q) = %q, want the input trimmed, %q", in, got, want)
		}
		parts := strings.Split(got, "@")
		if len(parts) != 2 {
			t.Fatalf("NormalizeEmail(%q) = %q: split on @ gives %d parts, want 2", in, got, len(parts))
		}
		if parts[0] == "" || !strings.Contains(parts[1], ".") {
			t.Fatalf("NormalizeEmail(%q) = %q: want a local part and a domain with a dot", in, got)
		}
		if len(got) > 254 {
			t.Fatalf("NormalizeEmail(%q) = %d bytes, want at most 254", in, len(got))
		}
		// Normalizing is idempotent.
		if again, err := auth.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q, nil again", got, again, err, got)
		}
	})
}

func TestValidatePasswordCountsCharacters(t *testing.T) {
	// 100 characters, 300 bytes: long in bytes, but within the limit.
	p := strings.Repeat("茶葉緑風山", 20)
	if err := auth.ValidatePassword(p); err != nil && strings.Contains(errs.MessageOf(err), "at most") {
		t.Errorf("ValidatePassword(100 CJK characters) = %v, want no length complaint", err)
	}
}
