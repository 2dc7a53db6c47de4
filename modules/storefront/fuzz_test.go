package storefront

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/apps"
)

// decodeOK fails t unless err is nil, or a refusal for a person to act on
// (400 or 422 with a message).
func decodeOK(t *testing.T, stage, body string, err error) bool {
	t.Helper()
	if err == nil {
		return true
	}
	if k := errs.KindOf(err); k != errs.Invalid && k != errs.Malformed {
		t.Fatalf("%s(%q) = %v (kind %s), want Invalid or Malformed", stage, body, err, k)
	}
	if errs.MessageOf(err) == "" {
		t.Fatalf("%s(%q) gave an empty message", stage, body)
	}
	return false
}

func fuzzContext(path, body string) *gin.Context {
	gin.SetMode(gin.ReleaseMode)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", path, strings.NewReader(body))
	return c
}

// FuzzPageBody: page writes decode and validate without panics; every
// refusal is a 400 or 422 with a message.
func FuzzPageBody(f *testing.F) {
	for _, s := range []string{`{"page":{"title":"About","body_html":"<p>x</p>","published":false}}`, `{"page":{"title":""}}`,
		`{"page":{"title":5}}`, `{"page":{"handle":"Bad Handle"}}`, `{"page":null}`, `[]`, ``, `{"page":{"title":"\u0000"}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req pageRequest
		if !decodeOK(t, "decode", body, apps.DecodeEnvelope(fuzzContext("/admin/api/2025-01/pages.json", body), "page", &req)) {
			return
		}
		decodeOK(t, "validate", body, req.validate(true))
	})
}

// FuzzThemeBodies: theme and asset writes decode, convert and validate
// without panics; refusals are 400 or 422 with a message.
func FuzzThemeBodies(f *testing.F) {
	for _, s := range []string{`{"theme":{"name":"Bold","builtin":"monolith"}}`, `{"theme":{"name":"x","src":"https://x.example/t.zip","role":"main"}}`,
		`{"asset":{"key":"templates/index.liquid","value":"{{ shop.name }}"}}`, `{"asset":{"key":"assets/a.png","attachment":"%%"}}`,
		`{"asset":{"key":"../x","value":"a","attachment":"YQ=="}}`, `{"theme":null}`, `{}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var tr themeRequest
		if decodeOK(t, "decode theme", body, apps.DecodeEnvelope(fuzzContext("/admin/api/2025-01/themes.json", body), "theme", &tr)) {
			in := tr.toNewTheme()
			decodeOK(t, "validate theme", body, in.validate())
		}
		var ar assetRequest
		if decodeOK(t, "decode asset", body, apps.DecodeEnvelope(fuzzContext("/admin/api/2025-01/themes/1/assets.json", body), "asset", &ar)) {
			_, err := ar.toAssetWrite()
			decodeOK(t, "convert asset", body, err)
		}
	})
}
