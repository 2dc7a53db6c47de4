package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"github.com/storefleet/storefleet/internal/blob"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// Resized images.
//
// A theme asks for an image at a size with ?width= and/or ?height= on its
// URL. The size is snapped up to the next step of sizeSteps, so a client
// cannot make us make and keep more than a few hundred variants of a file,
// and the picture is scaled to fit inside it, keeping its aspect ratio and
// never growing: a request at or above the original's size gets the
// original. The variant is made once, from the original in the bucket, and
// kept beside it as stores/<id>/images/<sha256>_<width>x<height>.<ext>,
// where width and height are the snapped request (0 for a side not asked
// for). Like the original's, a variant's name says what it holds, so it too
// is cached for a year.
//
// Formats: a JPEG, or a lossy WebP without transparency, becomes a JPEG of
// quality jpegQuality; a PNG, a GIF (its first frame), or a lossless or
// transparent WebP becomes a PNG. An EXIF orientation in a JPEG is applied,
// as browsers apply it to the original; colour profiles and other metadata
// are dropped.

// sizeSteps are the widths and heights variants come in. A request is
// rounded up to a step; one above the last step leaves that side free.
var sizeSteps = []int{100, 160, 240, 320, 400, 480, 600, 720, 800, 960, 1080, 1200, 1440, 1600, 1920, 2048}

const (
	jpegQuality = 82

	// resizeMemory bounds the pixel buffers this process's resizes hold at
	// once, and maxResizes how many run at once (each takes at least
	// resizeMemory/maxResizes); a resize needing more than resizeMemory
	// runs alone. See resizeCost.
	resizeMemory = 512 << 20
	maxResizes   = 2

	// resizeWait is how long a resize may queue before the request is
	// refused as busy; resizeTimeout bounds the whole job, which goes on
	// when the client that started it leaves, for the others waiting.
	resizeWait    = 30 * time.Second
	resizeTimeout = 2 * time.Minute
)

// resizer is the process's one queue of resizes: per process, not per
// service, because memory and CPU are the process's.
var resizer = struct {
	flight singleflight.Group  // one job per variant at a time
	memory *semaphore.Weighted // bytes of resizeMemory
}{memory: semaphore.NewWeighted(resizeMemory)}

// testHookStored, when set, is called after a variant is written.
var testHookStored func(key string)

// scaler is the resampling filter: CatmullRom, a bicubic kernel that
// weighs every source pixel under a destination pixel. ApproxBiLinear
// reads four, so past 2× down it aliases like nearest neighbour: fabric
// and fine print turn to moiré (2000×1500 to 400×300, against an exact
// area average: 17–20 dB PSNR, CatmullRom 34–37 dB). CatmullRom costs
// about 95 ms for that resize against 35 ms (BenchmarkResize; decoding
// alone is 27 ms) and a dw×sh buffer, but a variant is made once and then
// served from the bucket and caches.
var scaler draw.Scaler = draw.CatmullRom

// box is the size a request asks an image to fit in, in pixels; 0 leaves
// a side free.
type box struct{ w, h int }

// boxOf reads the size asked for from a request's width and height
// parameters, snapped up to sizeSteps. Values that are not a whole
// number from 1 to the last step are ignored, so garbage gets the original.
func boxOf(q url.Values) box {
	return box{w: snapSize(q.Get("width")), h: snapSize(q.Get("height"))}
}

func snapSize(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0
	}
	for _, step := range sizeSteps {
		if n <= step {
			return step
		}
	}
	return 0
}

// fit is the size of a w0×h0 picture scaled to fit in b, and whether that
// is smaller than the picture. The rounding is the themes' (see fit in
// themes), so the size a theme prints matches the one it gets.
func (b box) fit(w0, h0 int) (w, h int, smaller bool) {
	if w0 <= 0 || h0 <= 0 || b.w == 0 && b.h == 0 {
		return w0, h0, false
	}
	scale := 1.0
	if b.w > 0 {
		scale = min(scale, float64(b.w)/float64(w0))
	}
	if b.h > 0 {
		scale = min(scale, float64(b.h)/float64(h0))
	}
	if scale >= 1 {
		return w0, h0, false
	}
	return max(1, int(float64(w0)*scale+0.5)), max(1, int(float64(h0)*scale+0.5)), true
}

// variantKey is the blob key of store t's file resized to fit b, as ext.
func variantKey(t *tenant.Tenant, file string, b box, ext string) string {
	sha, _, _ := strings.Cut(file, ".")
	return imageKey(t, fmt.Sprintf("%s_%dx%d.%s", sha, b.w, b.h, ext))
}

// variantKeys are the keys file's variant fitting b may have: a WebP's
// format is known only once it is decoded.
func variantKeys(t *tenant.Tenant, file string, b box) []string {
	switch {
	case strings.HasSuffix(file, ".jpg"):
		return []string{variantKey(t, file, b, "jpg")}
	case strings.HasSuffix(file, ".webp"):
		return []string{variantKey(t, file, b, "jpg"), variantKey(t, file, b, "png")}
	}
	return []string{variantKey(t, file, b, "png")}
}

// errNoOriginal is for a file the store does not have.
var errNoOriginal = errors.New("no such image file")

// variant returns the key to serve for store t's file resized to fit b:
// the variant's, made and stored now if missing, or the original's when
// the variant would not be smaller or the original cannot be decoded.
// Concurrent calls for one variant make it once; the making goes on if
// ctx ends, for the calls still waiting and the next ones.
//
// Errors: errNoOriginal; Unavailable when too many resizes are queued.
func (s *Service) variant(ctx context.Context, t *tenant.Tenant, file string, b box) (string, error) {
	flight := fmt.Sprintf("%p %s", s.files.Bucket, variantKey(t, file, b, ""))
	ch := resizer.flight.DoChan(flight, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resizeTimeout)
		defer cancel()
		return s.makeVariant(ctx, t, file, b)
	})
	select {
	case res := <-ch:
		key, _ := res.Val.(string)
		return key, res.Err
	case <-ctx.Done():
		return "", fmt.Errorf("resize image %s: %w", file, ctx.Err())
	}
}

func (s *Service) makeVariant(ctx context.Context, t *tenant.Tenant, file string, b box) (string, error) {
	// Checked here, not before the flight, so a call that missed the
	// variant just as another flight stored it does not make it again.
	for _, key := range variantKeys(t, file, b) {
		if ok, err := blob.Exists(ctx, s.files.Bucket, key); err != nil || ok {
			return key, err
		}
	}
	original := imageKey(t, file)
	// The header alone says whether there is work, and how much, without
	// queueing or holding the file.
	cfg, orientation, err := s.imageHeader(ctx, original)
	if errors.Is(err, errUnreadable) {
		return original, nil
	}
	if err != nil {
		return "", err
	}
	w, h := cfg.Width, cfg.Height
	if orientation >= 5 {
		w, h = h, w
	}
	dw, dh, smaller := b.fit(w, h)
	if !smaller {
		return original, nil
	}
	if orientation >= 5 {
		dw, dh = dh, dw
	}
	cost := resizeCost(cfg.Width, cfg.Height, dw, dh)
	wait, cancel := context.WithTimeout(ctx, resizeWait)
	defer cancel()
	if err := resizer.memory.Acquire(wait, cost); err != nil {
		return "", errs.Wrap(errs.Unavailable, err, "too many images are being resized; try again shortly")
	}
	defer resizer.memory.Release(cost)

	rd, err := s.files.Bucket.NewReader(ctx, original, nil)
	if blob.IsNotFound(err) {
		return "", errNoOriginal
	}
	if err != nil {
		return "", fmt.Errorf("read image %s: %w", file, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(io.LimitReader(rd, MaxImageBytes+1))
	if err != nil {
		return "", fmt.Errorf("read image %s: %w", file, err)
	}
	v, err := resize(data, b, scaler)
	if errors.Is(err, errUnreadable) || errors.Is(err, errNotSmaller) {
		return original, nil
	}
	if err != nil {
		return "", err
	}
	key := variantKey(t, file, b, v.ext)
	if err := blob.Put(ctx, s.files.Bucket, key, v.data, v.contentType); err != nil {
		return "", err
	}
	if testHookStored != nil {
		testHookStored(key)
	}
	return key, nil
}

// errUnreadable is for an original we cannot decode: uploads are checked
// only as far as their header, and browsers read some files Go cannot
// (arithmetic-coded JPEGs), so such a file is served as it is.
var errUnreadable = errors.New("image cannot be decoded")

// errNotSmaller is for a box the picture already fits in.
var errNotSmaller = errors.New("image is not larger than the size asked for")

// imageHeader reads the size and, for a JPEG, the EXIF orientation of the
// file at key, reading no further than the header.
func (s *Service) imageHeader(ctx context.Context, key string) (image.Config, int, error) {
	rd, err := s.files.Bucket.NewReader(ctx, key, nil)
	if blob.IsNotFound(err) {
		return image.Config{}, 0, errNoOriginal
	}
	if err != nil {
		return image.Config{}, 0, fmt.Errorf("read image header: %w", err)
	}
	defer rd.Close()
	// EXIF comes before the frame header, so what DecodeConfig reads
	// holds it.
	var head bytes.Buffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(io.LimitReader(rd, MaxImageBytes), &head))
	if err != nil || !pictureSize(cfg) {
		return image.Config{}, 0, errUnreadable
	}
	orientation := 1
	if format == "jpeg" {
		orientation = jpegOrientation(head.Bytes())
	}
	return cfg, orientation, nil
}

// pictureSize reports whether cfg's size is one we keep (and so decode).
func pictureSize(cfg image.Config) bool {
	return cfg.Width > 0 && cfg.Height > 0 && cfg.Width*cfg.Height <= MaxImagePixels
}

// resizeCost is the memory, in bytes, a resize of a sw×sh picture to dw×dh
// may use, as a weight of resizeMemory: the decoded picture (up to 8 bytes
// a pixel, for 16-bit PNGs and progressive JPEGs' coefficients), the
// scaler's buffer (dw×sh pixels of four float64s), and the result.
func resizeCost(sw, sh, dw, dh int) int64 {
	c := int64(sw)*int64(sh)*8 + int64(dw)*int64(sh)*32 + int64(dw)*int64(dh)*8
	return min(max(c, resizeMemory/maxResizes), resizeMemory)
}

// resized is an encoded variant.
type resized struct {
	data             []byte
	ext, contentType string
}

// resize scales the picture in data to fit b with sc, and encodes it.
//
// Errors: errUnreadable, errNotSmaller.
func resize(data []byte, b box, sc draw.Scaler) (v resized, err error) {
	// Checked again before decoding: the decoders allocate what the
	// header says.
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || !pictureSize(cfg) {
		return resized{}, errUnreadable
	}
	orientation := 1
	if format == "jpeg" {
		orientation = jpegOrientation(data)
	}
	w, h := cfg.Width, cfg.Height
	if orientation >= 5 {
		w, h = h, w
	}
	dw, dh, smaller := b.fit(w, h)
	if !smaller {
		return resized{}, errNotSmaller
	}
	if orientation >= 5 {
		dw, dh = dh, dw
	}
	// A decoder's panic would kill the process (this runs in a flight's
	// goroutine, outside any recovering middleware), and the file is the
	// uploader's.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s decoder panicked: %v", errUnreadable, format, p)
		}
	}()
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return resized{}, fmt.Errorf("%w: %w", errUnreadable, err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	sc.Scale(dst, dst.Rect, src, src.Bounds(), draw.Src, nil)
	dst = orient(dst, orientation)

	var buf bytes.Buffer
	photo := format == "jpeg"
	if format == "webp" {
		_, photo = src.(*image.YCbCr) // lossy, without alpha
	}
	if photo {
		err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: jpegQuality})
		v = resized{ext: "jpg", contentType: "image/jpeg"}
	} else {
		err = png.Encode(&buf, dst)
		v = resized{ext: "png", contentType: "image/png"}
	}
	if err != nil {
		return resized{}, fmt.Errorf("encode %s: %w", v.ext, err)
	}
	v.data = buf.Bytes()
	return v, nil
}

// jpegOrientation is the EXIF orientation (1 to 8) of the JPEG in data, 1
// when it has none.
func jpegOrientation(data []byte) int {
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return 1
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 1
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from the first IFD of the TIFF
// structure an EXIF segment holds.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 1
	}
	n := int64(bo.Uint16(t[ifd:]))
	for k := range n {
		e := ifd + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 { // SHORT
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}

// orient turns m, as stored, the way EXIF orientation o says to show it.
func orient(m *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return m
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := range oh {
		for x := range ow {
			var sx, sy int
			switch o {
			case 2: // flip left to right
				sx, sy = w-1-x, y
			case 3: // turn half round
				sx, sy = w-1-x, h-1-y
			case 4: // flip top to bottom
				sx, sy = x, h-1-y
			case 5: // transpose
				sx, sy = y, x
			case 6: // turn a quarter clockwise
				sx, sy = y, h-1-x
			case 7: // transverse
				sx, sy = w-1-y, h-1-x
			case 8: // turn a quarter anticlockwise
				sx, sy = w-1-y, x
			}
			copy(out.Pix[out.PixOffset(x, y):][:4], m.Pix[m.PixOffset(sx, sy):][:4])
		}
	}
	return out
}

// deleteVariants removes the variants of store t's file, when the file
// goes. A variant made from the file while it goes can be left behind:
// its name still says what it holds, so it is never wrong, only unused.
func (s *Service) deleteVariants(ctx context.Context, t *tenant.Tenant, file string) error {
	sha, _, _ := strings.Cut(file, ".")
	return blob.DeletePrefix(ctx, s.files.Bucket, imageKey(t, sha+"_"))
}
