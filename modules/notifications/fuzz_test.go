package notifications

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/errs"
)

// FuzzTemplateBody feeds PUT notifications/{kind}.json bodies through what
// the handler and SetTemplate do before saving: decode, validate, render
// against the sample. Whatever the body, the answer is a template that
// renders or an Invalid error a person can read, never a panic, an
// internal error or a render that outlives its time limit.
func FuzzTemplateBody(f *testing.F) {
	for _, seed := range []string{
		`{"subject": "Order {{ order_name }}", "body_text": "{{ total_price | money }}"}`,
		`{"body_html": "{% for l in line_items %}{{ l.title | escape }}{% endfor %}"}`,
		`{"body_html": "{% if x %}"}`,
		`{"subject": "{% for i in (1..99999999) %}{% endfor %}"}`,
		`{"body_text": "{% capture x %}{{ x }}{{ x }}{% endcapture %}"}`,
		`{"body_text": "{% render 'a' %}{% include 'b' %}{% layout 'c' %}"}`,
		`{"subject": "{{ 'a' | append: 'b' | replace: 'a', 'bb' | split: '' | join: ',' }}"}`,
		`{"body_html": "{{ shop | json }} {{ order | json }}"}`,
		`{"subject": "\u0000"}`,
		`{"body_text": "{% form 'x' %}{% paginate line_items by 1 %}{% endpaginate %}{% endform %}"}`,
	} {
		f.Add(seed)
	}
	sh := Shop{Name: "Fuzz & Co", URL: "http://fuzz.localhost", Currency: "USD"}
	f.Fuzz(func(t *testing.T, body string) {
		var in inputJSON
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		for _, kind := range []Kind{OrderConfirmation, ShippingConfirmation} {
			tpl := Default(kind).with(in.toInput())
			if err := tpl.validate(); err != nil {
				if !errs.Is(err, errs.Invalid) || errs.MessageOf(err) == "" {
					t.Fatalf("validate(%q) = %v, want Invalid with a message", body, err)
				}
				continue
			}
			start := time.Now()
			_, err := tpl.Render(t.Context(), Sample(kind, sh))
			if d := time.Since(start); d > Limits.Timeout+2*time.Second {
				t.Fatalf("Render(%q) took %v, past its limit %v", body, d, Limits.Timeout)
			}
			if err != nil && (!errs.Is(err, errs.Invalid) || len(errs.FieldsOf(err)) == 0) {
				t.Fatalf("Render(%q) = %v (kind %s), want Invalid naming a field", body, err, errs.KindOf(err))
			}
		}
	})
}
