package catalog_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/blob"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// picture encodes a w×h picture of one colour as PNG or JPEG.
func picture(t testing.TB, format string, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type imageFixture struct {
	h      *appstest.Harness
	svc    *catalog.Service
	bucket *blob.Bucket
	st     *tenant.Tenant
	tok    string
}

func newImageFixture(t *testing.T) imageFixture {
	f := imageFixture{bucket: testenv.Bucket(t)}
	f.h = appstest.New(t, func(db *tenant.DB) []apps.Resource {
		f.svc = catalog.NewService(db, catalog.Files{
			Bucket: f.bucket,
			Fetch:  safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second}),
			URLs:   tenant.URLs{Scheme: "http", Domain: "localhost"},
		})
		return []apps.Resource{f.svc}
	})
	f.st = f.h.Store("pics")
	f.tok = f.h.Token(f.st, "read_products", "write_products")
	return f
}

func (f imageFixture) product(t *testing.T, body string) map[string]any {
	t.Helper()
	return create(t, f.h, f.st, f.tok, body)
}

func attachment(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

func (f imageFixture) addImage(t *testing.T, pid any, body string) map[string]any {
	t.Helper()
	r := f.h.Do(f.st, f.tok, "POST", fmt.Sprintf("/products/%v/images.json", pid), body)
	if r.Status != 200 {
		t.Fatalf("POST images.json %.200s = %d %s, want 200", body, r.Status, r.Body)
	}
	return r.JSON(t)["image"].(map[string]any)
}

// stored reports whether the bucket holds the file an image's src names.
func (f imageFixture) stored(t *testing.T, src string) bool {
	t.Helper()
	file := src[strings.LastIndex(src, "/")+1:]
	ok, err := blob.Exists(context.Background(), f.bucket, fmt.Sprintf("stores/%d/images/%s", f.st.ID, file))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestImageFromAttachmentAndSrc(t *testing.T) {
	f := newImageFixture(t)
	p := f.product(t, `{"product":{"title":"Tin","variants":[{"option1":"S"},{"option1":"L"}],"options":[{"name":"Size"}]}}`)
	pid := int64(p["id"].(float64))

	red := picture(t, "png", 40, 30, color.RGBA{200, 0, 0, 255})
	im := f.addImage(t, pid, `{"image":{"attachment":"`+attachment(red)+`","filename":"red.gif","alt":" Red tin "}}`)
	if im["width"] != 40.0 || im["height"] != 30.0 || im["alt"] != "Red tin" || im["position"] != 1.0 {
		t.Errorf("image from attachment = %v, want 40×30, alt Red tin, position 1", im)
	}
	src := im["src"].(string)
	if !strings.HasPrefix(src, "http://pics.localhost/cdn/shop/products/") || !strings.HasSuffix(src, ".png") {
		t.Errorf("src = %q, want the store's /cdn/shop/products/<hash>.png (the real format, not the filename's)", src)
	}
	if !f.stored(t, src) {
		t.Errorf("the file behind %s is not in the bucket", src)
	}

	// From a URL, placed first: the other moves down.
	blue := picture(t, "jpeg", 64, 48, color.RGBA{0, 0, 200, 255})
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/blue.jpg" {
			http.NotFound(w, r)
			return
		}
		w.Write(blue)
	}))
	defer files.Close()
	im2 := f.addImage(t, pid, `{"image":{"src":"`+files.URL+`/blue.jpg","position":1}}`)
	if im2["width"] != 64.0 || im2["position"] != 1.0 || !strings.HasSuffix(im2["src"].(string), ".jpg") {
		t.Errorf("image from src = %v, want 64 wide, position 1, .jpg", im2)
	}

	got := f.h.Do(f.st, f.tok, "GET", fmt.Sprintf("/products/%d.json", pid), "")
	prod := product(t, got)
	imgs := prod["images"].([]any)
	if len(imgs) != 2 || imgs[0].(map[string]any)["id"] != im2["id"] || imgs[1].(map[string]any)["position"] != 2.0 {
		t.Errorf("product images = %v, want the src image first and the attachment second", imgs)
	}
	if prod["image"].(map[string]any)["id"] != im2["id"] {
		t.Errorf("product image = %v, want the first image", prod["image"])
	}
	if r := f.h.Do(f.st, f.tok, "GET", fmt.Sprintf("/products/%d/images/count.json", pid), ""); !strings.Contains(r.Body, `"count":2`) {
		t.Errorf("images/count.json = %d %s, want 2", r.Status, r.Body)
	}
	if r := f.h.Do(f.st, f.tok, "GET", fmt.Sprintf("/products/%d/images.json?since_id=%v&fields=id,src", pid, im["id"]), ""); strings.Contains(r.Body, "width") || strings.Count(r.Body, `"id"`) != 1 {
		t.Errorf("images.json?since_id&fields = %s, want one image with only id and src", r.Body)
	}

	// The store's own src sent back (as clients do on update) is read from the
	// bucket, not fetched.
	r := f.h.Do(f.st, f.tok, "POST", "/products.json", `{"product":{"title":"Copy","images":[{"src":"`+src+`"}]}}`)
	if r.Status != 201 || !strings.Contains(r.Body, src) {
		t.Errorf("POST products.json with our own src = %d %s, want 201 with the same file", r.Status, r.Body)
	}
}

func TestImageRefusals(t *testing.T) {
	f := newImageFixture(t)
	p := f.product(t, `{"product":{"title":"Tin"}}`)
	pid := int64(p["id"].(float64))
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/text" {
			w.Write([]byte("not a picture"))
			return
		}
		http.NotFound(w, r)
	}))
	defer files.Close()

	for _, tc := range []struct {
		name, body, want string
	}{
		{"nothing", `{"image":{"alt":"x"}}`, "needs a src URL or a base64 attachment"},
		{"both", `{"image":{"src":"http://x.test/a.png","attachment":"` + attachment([]byte("x")) + `"}}`, "not both"},
		{"bad base64", `{"image":{"attachment":"%%%"}}`, "not valid base64"},
		{"not an image", `{"image":{"attachment":"` + attachment([]byte("hello")) + `"}}`, "is not a PNG, JPEG, GIF or WebP image"},
		{"ftp", `{"image":{"src":"ftp://x.test/a.png"}}`, "http or https URL"},
		{"missing", `{"image":{"src":"` + files.URL + `/nope.png"}}`, "its server answered 404"},
		{"text", `{"image":{"src":"` + files.URL + `/text"}}`, "src is not a PNG"},
		{"unreachable", `{"image":{"src":"http://127.0.0.1:1/a.png"}}`, "no answer from its server"},
		{"bad position", `{"image":{"attachment":"` + attachment(picture(t, "png", 2, 2, color.RGBA{})) + `","position":0}}`, "position must be 1 or more"},
		{"foreign variant", `{"image":{"attachment":"` + attachment(picture(t, "png", 2, 2, color.RGBA{})) + `","variant_ids":[999999]}}`, "must all be variants of this product"},
	} {
		r := f.h.Do(f.st, f.tok, "POST", fmt.Sprintf("/products/%d/images.json", pid), tc.body)
		if r.Status != 422 || !strings.Contains(r.Body, tc.want) {
			t.Errorf("%s: POST images.json = %d %s, want 422 saying %q", tc.name, r.Status, r.Body, tc.want)
		}
	}
	if r := f.h.Do(f.st, f.tok, "GET", fmt.Sprintf("/products/%d/images/count.json", pid), ""); !strings.Contains(r.Body, `"count":0`) {
		t.Errorf("after refusals, images/count.json = %s, want 0", r.Body)
	}

	// A client that may not reach private addresses refuses loopback URLs,
	// even when the server is up.
	strict := catalog.NewService(f.h.DB, catalog.Files{Bucket: f.bucket, Fetch: safehttp.NewClient(safehttp.Options{Timeout: time.Second}),
		URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}})
	_, err := strict.CreateImage(context.Background(), f.st, pid, catalog.ImageInput{Src: files.URL + "/text"})
	if err == nil || !strings.Contains(err.Error(), "private or local address") {
		t.Errorf("CreateImage(loopback src) with a strict client = %v, want a private-address refusal", err)
	}
}

func TestImageVariantsPositionsAndFiles(t *testing.T) {
	f := newImageFixture(t)
	p := f.product(t, `{"product":{"title":"Tin","options":[{"name":"Size"}],"variants":[{"option1":"S"},{"option1":"L"}]}}`)
	pid := p["id"]
	vs := p["variants"].([]any)
	small, large := vs[0].(map[string]any)["id"], vs[1].(map[string]any)["id"]

	red := attachment(picture(t, "png", 8, 8, color.RGBA{255, 0, 0, 255}))
	green := attachment(picture(t, "png", 8, 8, color.RGBA{0, 255, 0, 255}))
	a := f.addImage(t, pid, fmt.Sprintf(`{"image":{"attachment":%q,"variant_ids":[%v]}}`, red, small))
	b := f.addImage(t, pid, fmt.Sprintf(`{"image":{"attachment":%q}}`, green))
	c := f.addImage(t, pid, fmt.Sprintf(`{"image":{"attachment":%q}}`, red)) // same bytes as a
	if a["src"] != c["src"] {
		t.Errorf("the same bytes twice: src %v and %v, want one file", a["src"], c["src"])
	}
	if r := f.h.Do(f.st, f.tok, "GET", fmt.Sprintf("/variants/%v.json", small), ""); !strings.Contains(r.Body, fmt.Sprintf(`"image_id":%v`, a["id"])) {
		t.Errorf("variant %v = %s, want image_id %v", small, r.Body, a["id"])
	}

	// Move c to the front; show b on the large variant through the variant.
	r := f.h.Do(f.st, f.tok, "PUT", fmt.Sprintf("/products/%v/images/%v.json", pid, c["id"]), `{"image":{"id":1,"position":1,"alt":"front"}}`)
	if r.Status != 200 || !strings.Contains(r.Body, `"position":1`) || !strings.Contains(r.Body, `"alt":"front"`) {
		t.Fatalf("PUT image position 1 = %d %s", r.Status, r.Body)
	}
	r = f.h.Do(f.st, f.tok, "PUT", fmt.Sprintf("/variants/%v.json", large), fmt.Sprintf(`{"variant":{"image_id":%v}}`, b["id"]))
	if r.Status != 200 || !strings.Contains(r.Body, fmt.Sprintf(`"image_id":%v`, b["id"])) {
		t.Fatalf("PUT variant image_id = %d %s", r.Status, r.Body)
	}
	other := f.product(t, `{"product":{"title":"Other"}}`)
	oi := f.addImage(t, other["id"], fmt.Sprintf(`{"image":{"attachment":%q}}`, green))
	r = f.h.Do(f.st, f.tok, "PUT", fmt.Sprintf("/variants/%v.json", large), fmt.Sprintf(`{"variant":{"image_id":%v}}`, oi["id"]))
	if r.Status != 422 || !strings.Contains(r.Body, "is not an image of this product") {
		t.Errorf("PUT variant image_id of another product = %d %s, want 422", r.Status, r.Body)
	}

	prod := product(t, f.h.Do(f.st, f.tok, "GET", fmt.Sprintf("/products/%v.json", pid), ""))
	var order []any
	for _, im := range prod["images"].([]any) {
		order = append(order, im.(map[string]any)["id"])
	}
	if fmt.Sprint(order) != fmt.Sprint([]any{c["id"], a["id"], b["id"]}) {
		t.Errorf("image order = %v, want c, a, b", order)
	}

	// Deleting a keeps the shared file (c shows it) and clears the variant.
	if r := f.h.Do(f.st, f.tok, "DELETE", fmt.Sprintf("/products/%v/images/%v.json", pid, a["id"]), ""); r.Status != 200 {
		t.Fatalf("DELETE image = %d %s", r.Status, r.Body)
	}
	if !f.stored(t, c["src"].(string)) {
		t.Errorf("deleting one of two images of the same file removed the file")
	}
	if r := f.h.Do(f.st, f.tok, "GET", fmt.Sprintf("/variants/%v.json", small), ""); !strings.Contains(r.Body, `"image_id":null`) {
		t.Errorf("variant after its image was deleted = %s, want image_id null", r.Body)
	}
	// Replacing c's picture leaves the red file unused: it goes.
	r = f.h.Do(f.st, f.tok, "PUT", fmt.Sprintf("/products/%v/images/%v.json", pid, c["id"]), fmt.Sprintf(`{"image":{"attachment":%q}}`, green))
	if r.Status != 200 || f.stored(t, c["src"].(string)) {
		t.Errorf("replacing the last image of a file: %d, file still stored %v; want 200 and the file gone", r.Status, f.stored(t, c["src"].(string)))
	}
	// Deleting the product takes its images; the green file stays for the
	// other product.
	if r := f.h.Do(f.st, f.tok, "DELETE", fmt.Sprintf("/products/%v.json", pid), ""); r.Status != 200 {
		t.Fatalf("DELETE product = %d %s", r.Status, r.Body)
	}
	if !f.stored(t, oi["src"].(string)) {
		t.Errorf("deleting a product removed a file another product shows")
	}
	if r := f.h.Do(f.st, f.tok, "GET", fmt.Sprintf("/products/%v/images/%v.json", pid, b["id"]), ""); r.Status != 404 {
		t.Errorf("image of a deleted product = %d, want 404", r.Status)
	}
}

func TestProductWithImages(t *testing.T) {
	f := newImageFixture(t)
	red := attachment(picture(t, "png", 10, 5, color.RGBA{255, 0, 0, 255}))
	green := attachment(picture(t, "png", 5, 10, color.RGBA{0, 255, 0, 255}))
	p := f.product(t, fmt.Sprintf(`{"product":{"title":"Pair","images":[{"attachment":%q,"alt":"red"},{"attachment":%q}]}}`, red, green))
	imgs := p["images"].([]any)
	if len(imgs) != 2 || imgs[0].(map[string]any)["alt"] != "red" || imgs[1].(map[string]any)["height"] != 10.0 {
		t.Fatalf("created product images = %v, want red then green", imgs)
	}
	first := imgs[0].(map[string]any)
	// PUT with images replaces the list: keep the first, by id, after a new one.
	blue := attachment(picture(t, "png", 3, 3, color.RGBA{0, 0, 255, 255}))
	r := f.h.Do(f.st, f.tok, "PUT", fmt.Sprintf("/products/%v.json", p["id"]),
		fmt.Sprintf(`{"product":{"images":[{"attachment":%q},{"id":%v}]}}`, blue, first["id"]))
	got := product(t, r)["images"].([]any)
	if len(got) != 2 || got[1].(map[string]any)["id"] != first["id"] || got[0].(map[string]any)["width"] != 3.0 {
		t.Errorf("PUT product images = %v, want blue then the first", got)
	}
	if f.stored(t, imgs[1].(map[string]any)["src"].(string)) {
		t.Errorf("the dropped image's file is still stored")
	}
	r = f.h.Do(f.st, f.tok, "PUT", fmt.Sprintf("/products/%v.json", p["id"]), `{"product":{"images":[{"id":999999}]}}`)
	if r.Status != 422 || !strings.Contains(r.Body, "is not an image of this product") {
		t.Errorf("PUT product images with an unknown id = %d %s, want 422", r.Status, r.Body)
	}
}

func TestImagesCrossTenant(t *testing.T) {
	f := newImageFixture(t)
	p := f.product(t, fmt.Sprintf(`{"product":{"title":"Mine","images":[{"attachment":%q}]}}`, attachment(picture(t, "png", 4, 4, color.RGBA{1, 2, 3, 255}))))
	im := p["images"].([]any)[0].(map[string]any)
	other := f.h.Store("thief")
	tok := f.h.Token(other, "read_products", "write_products")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/products/%v/images.json", p["id"]), ""},
		{"GET", fmt.Sprintf("/products/%v/images/%v.json", p["id"], im["id"]), ""},
		{"GET", fmt.Sprintf("/products/%v/images/count.json", p["id"]), ""},
		{"POST", fmt.Sprintf("/products/%v/images.json", p["id"]), `{"image":{"src":"` + im["src"].(string) + `"}}`},
		{"PUT", fmt.Sprintf("/products/%v/images/%v.json", p["id"], im["id"]), `{"image":{"alt":"stolen"}}`},
		{"DELETE", fmt.Sprintf("/products/%v/images/%v.json", p["id"], im["id"]), ""},
	} {
		r := f.h.Do(other, tok, tc.method, tc.path, tc.body)
		if r.Status != 404 && r.Status != 422 || strings.Contains(r.Body, im["src"].(string)) {
			t.Errorf("store B %s %s = %d %s, want 404 (or 422 for a src that is not B's) and no data", tc.method, tc.path, r.Status, r.Body)
		}
	}
	// Store B's host does not serve A's file either.
	file := im["src"].(string)[strings.LastIndex(im["src"].(string), "/")+1:]
	w := httptest.NewRecorder()
	if err := f.svc.ServeImage(w, httptest.NewRequest("GET", "/cdn/shop/products/"+file, nil), other, file); err != nil || w.Code != 404 {
		t.Errorf("ServeImage(store B, A's file) = %d, %v; want 404", w.Code, err)
	}
	w = httptest.NewRecorder()
	if err := f.svc.ServeImage(w, httptest.NewRequest("GET", "/cdn/shop/products/"+file, nil), f.st, file); err != nil || w.Code != 200 ||
		w.Header().Get("Content-Type") != "image/png" || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("ServeImage(store A, its file) = %d %v %v; want 200 image/png, immutable", w.Code, w.Header(), err)
	}
}
