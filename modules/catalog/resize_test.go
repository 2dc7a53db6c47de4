package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/draw"

	"github.com/storefleet/storefleet/internal/blob"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/tenant"
)

// scene draws a w×h picture with detail in it — gradients and a grid —
// so that decoders and scalers do the work a photo makes them do. Its
// left half is reddish and its right half bluish; alpha, when less than
// 255, is the picture's opacity (premultiplied, as image.RGBA holds it).
func scene(w, h int, alpha uint8) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: 200, G: uint8(y * 255 / h), B: 40, A: 255}
			if x >= w/2 {
				c.R, c.B = 40, 200
			}
			if x%16 == 0 || y%16 == 0 {
				c.G = 255 - c.G
			}
			a := uint32(alpha)
			c = color.RGBA{uint8(uint32(c.R) * a / 255), uint8(uint32(c.G) * a / 255), uint8(uint32(c.B) * a / 255), alpha}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

func encodeJPEG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withOrientation puts an EXIF segment saying orientation o right after
// the JPEG's start-of-image marker.
func withOrientation(data []byte, o uint16) []byte {
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08" + // big-endian, first IFD at 8
		"\x00\x01" + // one entry
		"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00" + // orientation, SHORT, 1 value
		"\x00\x00\x00\x00") // no next IFD
	binary.BigEndian.PutUint16(tiff[8+2+8:], o)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, data[2:]...)
}

type resizeFixture struct {
	svc    *Service
	bucket *blob.Bucket
	h      *appstest.Harness
	st     *tenant.Tenant
	pid    int64

	mu     sync.Mutex
	stored map[string]int // variant key → times written
}

// newResizeFixture is the catalog on a fresh database, with a product to
// hang images on, counting the variants it writes.
func newResizeFixture(t *testing.T) *resizeFixture {
	f := &resizeFixture{bucket: testenv.Bucket(t), stored: map[string]int{}}
	f.h = appstest.New(t, func(db *tenant.DB) []apps.Resource {
		f.svc = NewService(db, Files{Bucket: f.bucket, URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}})
		return []apps.Resource{f.svc}
	})
	f.st = f.h.Store("sizes")
	title := "Tin"
	p, err := f.svc.CreateProduct(context.Background(), f.st, ProductInput{Title: &title})
	if err != nil {
		t.Fatalf("CreateProduct = %v", err)
	}
	f.pid = p.ID
	testHookStored = func(key string) {
		f.mu.Lock()
		f.stored[key]++
		f.mu.Unlock()
	}
	t.Cleanup(func() { testHookStored = nil })
	return f
}

// upload adds data as an image of the fixture's product; it returns the
// image.
func (f *resizeFixture) upload(t *testing.T, data []byte) Image {
	t.Helper()
	im, err := f.svc.CreateImage(context.Background(), f.st, f.pid, ImageInput{Attachment: data})
	if err != nil {
		t.Fatalf("CreateImage = %v", err)
	}
	return im
}

func (f *resizeFixture) writes(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stored[key]
}

func (f *resizeFixture) exists(t *testing.T, key string) bool {
	t.Helper()
	ok, err := blob.Exists(context.Background(), f.bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// get asks store st's host for file with query.
func (f *resizeFixture) get(t *testing.T, st *tenant.Tenant, file, query string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/cdn/shop/products/"+file+"?"+query, nil)
	if err := f.svc.ServeImage(w, r, st, file); err != nil {
		t.Fatalf("ServeImage(%s?%s) = %v", file, query, err)
	}
	return w
}

func decodeBody(t *testing.T, name string, w *httptest.ResponseRecorder) (image.Image, string) {
	t.Helper()
	m, format, err := image.Decode(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("%s: decode the body (%s, %d bytes) = %v", name, w.Header().Get("Content-Type"), w.Body.Len(), err)
	}
	return m, format
}

func TestServeImageResized(t *testing.T) {
	f := newResizeFixture(t)
	original := encodeJPEG(t, scene(640, 480, 255))
	im := f.upload(t, original)
	sha := strings.TrimSuffix(im.File, ".jpg")

	for _, tc := range []struct {
		name, query string
		w, h        int    // want a variant of this size…
		variant     string // …under this name (the ETag)
	}{
		{"width", "width=100", 100, 75, sha + "_100x0.jpg"},
		{"width snapped up", "width=90", 100, 75, sha + "_100x0.jpg"},
		{"height", "height=100", 133, 100, sha + "_0x100.jpg"},
		{"both, height binds", "width=400&height=100", 133, 100, sha + "_400x100.jpg"},
		{"both, width binds", "width=160&height=600", 160, 120, sha + "_160x600.jpg"},
		{"garbage width, good height", "width=abc&height=240", 320, 240, sha + "_0x240.jpg"},
		{"theme's width and height", "height=75&width=100", 100, 75, sha + "_100x100.jpg"},
	} {
		w := f.get(t, f.st, im.File, tc.query)
		if w.Code != 200 {
			t.Errorf("%s: ServeImage(?%s) = %d, want 200", tc.name, tc.query, w.Code)
			continue
		}
		m, format := decodeBody(t, tc.name, w)
		if b := m.Bounds(); format != "jpeg" || b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("%s: ServeImage(?%s) = %s %d×%d, want jpeg %d×%d", tc.name, tc.query, format, b.Dx(), b.Dy(), tc.w, tc.h)
		}
		h := w.Header()
		if h.Get("Content-Type") != "image/jpeg" || h.Get("ETag") != `"`+tc.variant+`"` ||
			h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: ServeImage(?%s) headers = %v, want image/jpeg, ETag %q, immutable, nosniff", tc.name, tc.query, h, tc.variant)
		}
		key := imageKey(f.st, tc.variant)
		if !f.exists(t, key) || f.writes(key) != 1 {
			t.Errorf("%s: after ServeImage(?%s), %s stored %v, written %d times; want stored, once", tc.name, tc.query, tc.variant, f.exists(t, key), f.writes(key))
		}
	}

	// Asked again, a variant comes from the bucket, not made again.
	first := f.get(t, f.st, im.File, "width=100").Body.Bytes()
	again := f.get(t, f.st, im.File, "width=100")
	if !bytes.Equal(again.Body.Bytes(), first) || f.writes(imageKey(f.st, sha+"_100x0.jpg")) != 1 {
		t.Errorf("ServeImage(?width=100) again: same bytes %v, variant written %d times; want the same bytes, written once",
			bytes.Equal(again.Body.Bytes(), first), f.writes(imageKey(f.st, sha+"_100x0.jpg")))
	}
	// Conditional requests work on the variant's name.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/cdn/shop/products/"+im.File+"?width=100", nil)
	r.Header.Set("If-None-Match", `"`+sha+`_100x0.jpg"`)
	if err := f.svc.ServeImage(w, r, f.st, im.File); err != nil || w.Code != 304 {
		t.Errorf("ServeImage(?width=100, If-None-Match: the variant) = %d, %v; want 304", w.Code, err)
	}

	// At or above the original's size, or with sizes we cannot use, the
	// original, as it is; nothing is made.
	before := len(f.stored)
	for _, q := range []string{
		"", "width=640", "width=1000", "height=480", "width=2048&height=2048", "width=3000",
		"width=abc", "width=0", "width=-100", "width=99999999999999999999", "width=1e3", "width=100.5", "width=",
		"height=%00", "width=0x64", "width=+", "height=-0",
	} {
		w := f.get(t, f.st, im.File, q)
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), original) || w.Header().Get("ETag") != `"`+im.File+`"` {
			t.Errorf("ServeImage(?%s) = %d, %d bytes, ETag %s; want 200 and the original's %d bytes, ETag %q",
				q, w.Code, w.Body.Len(), w.Header().Get("ETag"), len(original), im.File)
		}
	}
	if len(f.stored) != before {
		t.Errorf("serving originals wrote variants: %v", f.stored)
	}

	// Deleting the image deletes its variants with its file.
	if err := f.svc.DeleteImage(context.Background(), f.st, f.pid, im.ID); err != nil {
		t.Fatalf("DeleteImage = %v", err)
	}
	for key := range f.stored {
		if f.exists(t, key) {
			t.Errorf("after DeleteImage, variant %s is still stored", key)
		}
	}
	if w := f.get(t, f.st, im.File, "width=100"); w.Code != 404 {
		t.Errorf("ServeImage(deleted file, ?width=100) = %d, want 404", w.Code)
	}
}

func TestServeImageResizedPNG(t *testing.T) {
	f := newResizeFixture(t)
	im := f.upload(t, encodePNG(t, scene(640, 480, 128)))
	w := f.get(t, f.st, im.File, "width=100")
	m, format := decodeBody(t, "png", w)
	if b := m.Bounds(); w.Code != 200 || format != "png" || w.Header().Get("Content-Type") != "image/png" || b.Dx() != 100 || b.Dy() != 75 {
		t.Fatalf("ServeImage(a PNG, ?width=100) = %d %s %s %d×%d, want 200 png 100×75", w.Code, format, w.Header().Get("Content-Type"), b.Dx(), b.Dy())
	}
	if _, _, _, a := m.At(50, 37).RGBA(); a>>8 < 120 || a>>8 > 136 {
		t.Errorf("ServeImage(a half-transparent PNG, ?width=100): alpha %d at the centre, want about 128", a>>8)
	}
	sha := strings.TrimSuffix(im.File, ".png")
	if key := imageKey(f.st, sha+"_100x0.png"); !f.exists(t, key) {
		t.Errorf("ServeImage(a PNG, ?width=100) did not store %s", key)
	}
}

func TestServeImageResizedOnce(t *testing.T) {
	f := newResizeFixture(t)
	im := f.upload(t, encodeJPEG(t, scene(1600, 1200, 255)))
	const n = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	bodies := make([][]byte, n)
	codes := make([]int, n)
	failed := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			w := httptest.NewRecorder()
			failed[i] = f.svc.ServeImage(w, httptest.NewRequest("GET", "/cdn/shop/products/"+im.File+"?width=200", nil), f.st, im.File)
			codes[i], bodies[i] = w.Code, w.Body.Bytes()
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if failed[i] != nil || codes[i] != 200 || !bytes.Equal(bodies[i], bodies[0]) || len(bodies[i]) == 0 {
			t.Errorf("request %d of %d at once: ServeImage(?width=200) = %d, %v, %d bytes; want 200 and the same bytes as the first", i, n, codes[i], failed[i], len(bodies[i]))
		}
	}
	key := imageKey(f.st, strings.TrimSuffix(im.File, ".jpg")+"_240x0.jpg")
	if got := f.writes(key); got != 1 {
		t.Errorf("%d requests at once for one variant wrote it %d times, want 1", n, got)
	}
}

func TestServeImageResizedCrossTenant(t *testing.T) {
	f := newResizeFixture(t)
	im := f.upload(t, encodeJPEG(t, scene(640, 480, 255)))
	if w := f.get(t, f.st, im.File, "width=100"); w.Code != 200 {
		t.Fatalf("ServeImage(store A, its file, ?width=100) = %d, want 200", w.Code)
	}
	other := f.h.Store("thief")
	for _, q := range []string{"width=100", "width=160", "height=100", ""} {
		if w := f.get(t, other, im.File, q); w.Code != 404 || bytes.Contains(w.Body.Bytes(), []byte("JFIF")) {
			t.Errorf("ServeImage(store B, A's file, ?%s) = %d, want 404", q, w.Code)
		}
	}
	sha := strings.TrimSuffix(im.File, ".jpg")
	for _, key := range []string{imageKey(other, sha+"_160x0.jpg"), imageKey(other, sha+"_0x100.jpg")} {
		if f.exists(t, key) {
			t.Errorf("store B asking for A's file stored %s", key)
		}
	}
}

// An upload is checked as far as its header; a file Go cannot decode
// further is served as it is, not as an error.
func TestServeImageUndecodable(t *testing.T) {
	f := newResizeFixture(t)
	data := encodeJPEG(t, scene(640, 480, 255))
	broken := data[:len(data)/2]
	im := f.upload(t, broken)
	w := f.get(t, f.st, im.File, "width=100")
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), broken) {
		t.Errorf("ServeImage(a truncated JPEG, ?width=100) = %d, %d bytes; want 200 and the file as it is", w.Code, w.Body.Len())
	}
}

func TestBoxOf(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  box
	}{
		{"width=1", box{100, 0}},
		{"width=100", box{100, 0}},
		{"width=101", box{160, 0}},
		{"width=2048", box{2048, 0}},
		{"width=2049", box{}},
		{"height=500&width=500", box{600, 600}},
		{"width=400&width=9", box{400, 0}},
		{"width=0&height=-1", box{}},
		{"width=%20400", box{}},
		{"width=9223372036854775808", box{}},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := boxOf(q); got != tc.want {
			t.Errorf("boxOf(%q) = %+v, want %+v", tc.query, got, tc.want)
		}
	}
}

func TestBoxFit(t *testing.T) {
	for _, tc := range []struct {
		b           box
		w0, h0      int
		w, h        int
		wantSmaller bool
	}{
		{box{100, 0}, 640, 480, 100, 75, true},
		{box{0, 100}, 640, 480, 133, 100, true},
		{box{100, 100}, 480, 640, 75, 100, true},
		{box{100, 0}, 100, 80, 100, 80, false},
		{box{2048, 0}, 640, 480, 640, 480, false},
		{box{100, 0}, 10000, 1, 100, 1, true},
		{box{}, 640, 480, 640, 480, false},
	} {
		w, h, smaller := tc.b.fit(tc.w0, tc.h0)
		if w != tc.w || h != tc.h || smaller != tc.wantSmaller {
			t.Errorf("%+v.fit(%d, %d) = %d, %d, %v; want %d, %d, %v", tc.b, tc.w0, tc.h0, w, h, smaller, tc.w, tc.h, tc.wantSmaller)
		}
	}
}

// A JPEG stored sideways with an EXIF orientation is resized the way
// browsers show it.
func TestResizeOrientation(t *testing.T) {
	// Stored 400×200: red on the left, blue on the right.
	stored := encodeJPEG(t, scene(400, 200, 255))
	for _, tc := range []struct {
		o               uint16
		w, h            int
		topLeft, bottom string // the colour at the top and at the bottom of the left column
	}{
		{1, 100, 50, "red", "red"},
		{3, 100, 50, "blue", "blue"},
		{6, 50, 100, "red", "blue"}, // turned clockwise: the left goes to the top
		{8, 50, 100, "blue", "red"},
	} {
		data := withOrientation(stored, tc.o)
		if got := jpegOrientation(data); got != int(tc.o) {
			t.Errorf("jpegOrientation(orientation %d) = %d", tc.o, got)
		}
		v, err := resize(data, box{100, 100}, scaler)
		if err != nil {
			t.Fatalf("resize(orientation %d) = %v", tc.o, err)
		}
		m, err := jpeg.Decode(bytes.NewReader(v.data))
		if err != nil {
			t.Fatal(err)
		}
		if b := m.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("resize(orientation %d) = %d×%d, want %d×%d", tc.o, b.Dx(), b.Dy(), tc.w, tc.h)
		}
		colour := func(x, y int) string {
			r, _, b, _ := m.At(x, y).RGBA()
			if r > b {
				return "red"
			}
			return "blue"
		}
		if top, bottom := colour(5, 5), colour(5, m.Bounds().Dy()-5); top != tc.topLeft || bottom != tc.bottom {
			t.Errorf("resize(orientation %d): left column %s at the top, %s at the bottom; want %s, %s", tc.o, top, bottom, tc.topLeft, tc.bottom)
		}
	}
	for _, data := range [][]byte{nil, {0xFF, 0xD8}, {0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}, withOrientation(stored, 9), stored} {
		if got := jpegOrientation(data); got != 1 {
			t.Errorf("jpegOrientation(% x…) = %d, want 1", data[:min(len(data), 8)], got)
		}
	}
}

// BenchmarkResize: a cold resize of a 2000×1500 JPEG (quality 90) to 400
// wide — decode, scale, encode — with each scaler draw offers.
//
// Run with: go test -run='^$' -bench=Resize -benchmem ./modules/catalog/
func BenchmarkResize(b *testing.B) {
	data := encodeJPEG(b, scene(2000, 1500, 255))
	for _, sc := range []struct {
		name string
		s    draw.Scaler
	}{
		{"CatmullRom", draw.CatmullRom},
		{"BiLinear", draw.BiLinear},
		{"ApproxBiLinear", draw.ApproxBiLinear},
	} {
		b.Run(sc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := resize(data, box{400, 0}, sc.s)
				if err != nil || len(v.data) == 0 {
					b.Fatalf("resize = %v", err)
				}
			}
		})
	}
	b.Run("decode only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
