package tenant

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/internal/testenv"
)

func TestTokens(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	a, b := provision(t, d, "token-a"), provision(t, d, "token-b")
	access, err := d.Access()
	if err != nil {
		t.Fatal(err)
	}

	tok, secret, err := d.CreateToken(ctx, a, " ERP sync ", []string{"write_products", "read_orders", "write_products"})
	if err != nil {
		t.Fatalf("CreateToken = %v", err)
	}
	if tok.Name != "ERP sync" || !slices.Equal(tok.Scopes, []string{"read_orders", "write_products"}) || !strings.HasPrefix(secret, tok.Prefix) {
		t.Errorf("CreateToken = %+v, %q; want name trimmed, scopes sorted and deduplicated, prefix of the secret", tok, secret)
	}

	got, err := d.Authenticate(ctx, a, secret)
	if err != nil || got.ID != tok.ID {
		t.Errorf("Authenticate(a, secret) = %+v, %v; want token %d", got, err, tok.ID)
	}
	for name, tc := range map[string]struct {
		store  *Tenant
		secret string
	}{
		"other store":    {b, secret},
		"wrong secret":   {a, secret[:len(secret)-1] + otherHexDigit(secret[len(secret)-1])},
		"no prefix":      {a, strings.TrimPrefix(secret, tokenPrefix)},
		"empty":          {a, ""},
		"very long":      {a, tokenPrefix + strings.Repeat("a", 10_000)},
		"case differing": {a, strings.ToUpper(secret)},
	} {
		if _, err := d.Authenticate(ctx, tc.store, tc.secret); !errors.Is(err, ErrBadToken) {
			t.Errorf("Authenticate (%s) = %v, want ErrBadToken", name, err)
		}
	}

	for _, c := range []struct {
		store, obj, act string
		want            bool
	}{
		{rbac.Store(int64(a.ID)), "products", rbac.Write, true},
		{rbac.Store(int64(a.ID)), "orders", rbac.Read, true},
		{rbac.Store(int64(a.ID)), "orders", rbac.Write, false},
		{rbac.Store(int64(a.ID)), "customers", rbac.Read, false},
		{rbac.Store(int64(b.ID)), "products", rbac.Read, false},
	} {
		if ok, _ := access.Allowed(tok.Subject(), c.store, c.obj, c.act); ok != c.want {
			t.Errorf("Allowed(%s, %s, %s, %s) = %v, want %v", tok.Subject(), c.store, c.obj, c.act, ok, c.want)
		}
	}

	list, err := d.Tokens(ctx, a)
	if err != nil || len(list) != 1 || list[0].ID != tok.ID {
		t.Errorf("Tokens(a) = %+v, %v; want the one token", list, err)
	}
	if list, _ := d.Tokens(ctx, b); len(list) != 0 {
		t.Errorf("Tokens(b) = %+v, want none (the token is a's)", list)
	}

	if err := d.RevokeToken(ctx, b, tok.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("RevokeToken(b, a's token) = %v, want not found", err)
	}
	if err := d.RevokeToken(ctx, a, tok.ID); err != nil {
		t.Fatalf("RevokeToken = %v", err)
	}
	if _, err := d.Authenticate(ctx, a, secret); !errors.Is(err, ErrBadToken) {
		t.Errorf("Authenticate after revocation = %v, want ErrBadToken", err)
	}
	if ok, _ := access.Allowed(tok.Subject(), rbac.Store(int64(a.ID)), "products", rbac.Read); ok {
		t.Errorf("revoked token still allowed to read products")
	}
}

func TestCreateTokenRefusesBadInput(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	a := provision(t, d, "token-bad")
	for _, tc := range []struct {
		name   string
		scopes []string
		field  string
	}{
		{"", []string{"read_products"}, "name"},
		{strings.Repeat("n", 101), []string{"read_products"}, "name"},
		{"ok", nil, "scopes"},
		{"ok", []string{"read_products", "write_everything"}, "scopes"},
		{"ok", []string{" , "}, "scopes"},
	} {
		_, _, err := d.CreateToken(context.Background(), a, tc.name, tc.scopes)
		if errs.KindOf(err) != errs.Invalid || len(errs.FieldsOf(err)[tc.field]) == 0 {
			t.Errorf("CreateToken(%q, %v) = %v, want invalid %s", tc.name, tc.scopes, err, tc.field)
		}
	}
	if list, _ := d.Tokens(context.Background(), a); len(list) != 0 {
		t.Errorf("refused CreateToken calls left %d tokens", len(list))
	}
}

func TestOwnerIsAssigned(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	acct, tn, err := d.SignUp(ctx, Signup{Email: "own@er.example", Password: "correct-Horse-battery-9", StoreName: "Owned"})
	if err != nil {
		t.Fatal(err)
	}
	other := provision(t, d, "not-owned")
	access, _ := d.Access()
	if ok, _ := access.Allowed(rbac.Account(int64(acct.ID)), rbac.Store(int64(tn.ID)), "staff", rbac.Write); !ok {
		t.Errorf("owner may not manage staff of their own store")
	}
	if ok, _ := access.Allowed(rbac.Account(int64(acct.ID)), rbac.Store(int64(other.ID)), "products", rbac.Read); ok {
		t.Errorf("owner may read another store's products")
	}
	if err := d.Delete(ctx, tn.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := access.Allowed(rbac.Account(int64(acct.ID)), rbac.Store(int64(tn.ID)), "products", rbac.Read); ok {
		t.Errorf("owner of a deleted store still holds its role")
	}
}

// otherHexDigit is a hex digit other than d, so a changed secret is
// always wrong.
func otherHexDigit(d byte) string {
	if d == '0' {
		return "1"
	}
	return "0"
}
