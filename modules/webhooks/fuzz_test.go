package webhooks

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/apps"
)

// FuzzWebhookBody feeds arbitrary bodies through everything a subscription
// write (webhooks.json, webhooks/{id}.json) does before it touches the
// database: the envelope, the conversion (only the json format) and
// validation, as a creation and as an update. Whatever the body, nothing
// panics, every refusal is a 400 (Malformed) or 422 (Invalid), never an
// internal error, and what passes is a known topic at an address deliveries
// may go to.
func FuzzWebhookBody(f *testing.F) {
	for _, s := range []string{
		`{"webhook":{"topic":"orders/create","address":"https://example.com/hooks","format":"json"}}`,
		`{"webhook":{"topic":" products/update ","address":"http://localhost:3000/h","fields":["id","title"]}}`,
		`{"webhook":{"topic":"app/uninstalled","address":"http://127.0.0.1/x"}}`, `{"webhook":{"address":"http://[::1]:8080/"}}`,
		`{"webhook":{"topic":"orders/create","address":"http://example.com/h"}}`, `{"webhook":{"format":"xml"}}`,
		`{"webhook":{"topic":"orders/exploded","address":"https://u:p@example.com/#frag"}}`, `{"webhook":{"address":"https:///x"}}`,
		`{"webhook":{"address":"https://exämple.com/✓","fields":[",",""," a,b "]}}`, `{"webhook":{"address":"https://a.b/\u0000"}}`,
		`{"webhook":{"address":"%zz","topic":""}}`, `{"webhook":{"address":"http://[::1"}}`, `{"webhook":{"address":"http://x.localhost/"}}`,
		`{"webhook":{"topic":5,"address":true}}`, `{"webhook":{"fields":"id"}}`, `{"webhook":{"fields":[1e400]}}`,
		`{"webhook":{"topic":null,"address":null,"format":null,"fields":null}}`, `{"webhook":{"id":99999999999999999999}}`,
		`{"webhook":null}`, `{"webhook":[]}`, `{"webhooks":{}}`, `[]`, `{}`, `"x"`, ``, `null`,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	f.Fuzz(func(t *testing.T, body string) {
		check := func(stage string, err error) bool {
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
		for _, creating := range []bool{true, false} {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest("POST", "/admin/api/2025-01/webhooks.json", strings.NewReader(body))
			var req webhookRequest
			if !check("decode", apps.DecodeEnvelope(c, "webhook", &req)) {
				return
			}
			in, err := req.toInput()
			if !check("convert", err) || !check("validate", in.validate(creating)) {
				continue
			}
			if creating && (in.Topic == nil || in.Address == nil) {
				t.Fatalf("validated new subscription %+v of %q lacks a topic or an address", in, body)
			}
			if in.Topic != nil {
				if _, ok := Topics[*in.Topic]; !ok {
					t.Fatalf("validated topic %q of %q is not known", *in.Topic, body)
				}
			}
			if in.Address != nil {
				u, err := url.Parse(*in.Address)
				if err != nil || u.Host == "" || len(*in.Address) > 2000 || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
					t.Fatalf("validated address %q of %q is not one deliveries may go to", *in.Address, body)
				}
			}
			if in.Fields != nil && len(*in.Fields) > 100 {
				t.Fatalf("validated subscription of %q lists %d fields", body, len(*in.Fields))
			}
		}
	})
}
