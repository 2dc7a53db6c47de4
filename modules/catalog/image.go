package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders image.DecodeConfig may use
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	_ "golang.org/x/image/webp"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/blob"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/tenant"
)

// Image limits, as Shopify has them.
const (
	MaxImages      = 250
	MaxImageBytes  = 20 << 20
	MaxImagePixels = 25_000_000
)

// ErrImageNotFound is for an image id the product does not have.
var ErrImageNotFound = errs.E(errs.NotFound, "image not found")

// Image is a picture of a product. Its bytes are in blob storage under File.
type Image struct {
	ID         int64
	ProductID  int64
	Position   int
	Alt        *string
	File       string // the SHA-256 of the bytes, hex, and the format's extension
	Width      int
	Height     int
	VariantIDs []int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ImageInput is an image to add — from Src, a URL to fetch, or from
// Attachment, the file's bytes — or, with ID, a change to one. Nil fields are
// left as they are.
type ImageInput struct {
	ID         int64
	Src        string
	Attachment []byte
	Alt        *string
	Position   *int
	VariantIDs *[]int64
}

// Files is where the catalog keeps image bytes, how it fetches images given
// by URL, and how it addresses them to the world.
type Files struct {
	Bucket *blob.Bucket
	Fetch  *http.Client // for Src URLs; see internal/safehttp
	URLs   tenant.URLs
}

// imageKey is the blob key of store t's file: each store has its own
// folder, so one store's file names say nothing of another's.
func imageKey(t *tenant.Tenant, file string) string {
	return fmt.Sprintf("stores/%d/images/%s", t.ID, file)
}

// ImageURL is the public address of store t's image file, on its storefront
// host, where ServeImage answers.
func (s *Service) ImageURL(t *tenant.Tenant, file string) string {
	return s.files.URLs.Store(t.Slug) + "/cdn/shop/products/" + file
}

var fileName = regexp.MustCompile(`^[0-9a-f]{64}\.(png|jpg|gif|webp)$`)

// ServeImage answers GET /cdn/shop/products/:file on a store's host with
// the file's bytes, cacheable for a year: the name is the content's hash.
// With ?width= and/or ?height= it serves the picture scaled down to fit
// that size, rounded up to a fixed step, making the variant on first use
// (see resize.go); sizes it cannot use are ignored.
//
// Errors: Unavailable when too many resizes are queued; others are
// internal.
func (s *Service) ServeImage(w http.ResponseWriter, r *http.Request, t *tenant.Tenant, file string) error {
	if !fileName.MatchString(file) {
		http.NotFound(w, r)
		return nil
	}
	key := imageKey(t, file)
	if b := boxOf(r.URL.Query()); b != (box{}) {
		var err error
		key, err = s.variant(r.Context(), t, file, b)
		if errors.Is(err, errNoOriginal) {
			http.NotFound(w, r)
			return nil
		}
		if errs.Is(err, errs.Unavailable) {
			w.Header().Set("Retry-After", "5")
		}
		if err != nil {
			return err
		}
	}
	return blob.Serve(w, r, s.files.Bucket, key)
}

func (in *ImageInput) validate(f errs.Fields, field string, creating bool) {
	if in.Alt != nil {
		a := strings.TrimSpace(*in.Alt)
		in.Alt = &a
		if utf8.RuneCountInString(a) > 512 {
			f.Add(field, "alt is too long (maximum is 512 characters)")
		}
	}
	if in.Position != nil && *in.Position < 1 {
		f.Add(field, "position must be 1 or more")
	}
	switch {
	case creating && in.ID != 0:
		f.Add(field, "a new image cannot have an id")
	case in.ID == 0 && in.Src == "" && len(in.Attachment) == 0:
		f.Add(field, "needs a src URL or a base64 attachment")
	case in.Src != "" && len(in.Attachment) > 0:
		f.Add(field, "give a src URL or an attachment, not both")
	case in.Src != "":
		if u, err := url.Parse(in.Src); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			f.Add(field, "src must be an http or https URL")
		}
	}
	if len(in.Attachment) > MaxImageBytes {
		f.Add(field, "attachment is larger than %d MB", MaxImageBytes>>20)
	}
}

// upload is an image's bytes, checked and stored.
type upload struct {
	file          string
	width, height int
	data          []byte
	contentType   string
}

// formats maps image.DecodeConfig's format names to file extensions and
// content types; other formats are refused.
var formats = map[string][2]string{
	"png": {"png", "image/png"}, "jpeg": {"jpg", "image/jpeg"}, "gif": {"gif", "image/gif"}, "webp": {"webp", "image/webp"},
}

// readImage checks that data is a picture of a size we keep, and names it.
func readImage(data []byte) (upload, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	kind, ok := formats[format]
	if err != nil || !ok {
		return upload{}, errors.New("is not a PNG, JPEG, GIF or WebP image")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxImagePixels {
		return upload{}, fmt.Errorf("is %d×%d pixels; images may have at most %d megapixels", cfg.Width, cfg.Height, MaxImagePixels/1_000_000)
	}
	sum := sha256.Sum256(data)
	return upload{file: hex.EncodeToString(sum[:]) + "." + kind[0], width: cfg.Width, height: cfg.Height, data: data, contentType: kind[1]}, nil
}

// srcError says why an image's src could not be used, to the person who
// gave it.
type srcError string

func (e srcError) Error() string { return string(e) }

// fetch downloads an image from src, refusing addresses inside our network
// (unless the client allows them) and files over MaxImageBytes.
func (s *Service) fetch(ctx context.Context, src string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := safehttp.Get(ctx, s.files.Fetch, src)
	if err != nil {
		if safehttp.IsForbidden(err) {
			return nil, srcError("points at a private or local address")
		}
		return nil, srcError("could not be downloaded (no answer from its server)")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, srcError(fmt.Sprintf("could not be downloaded (its server answered %d)", resp.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxImageBytes+1))
	if err != nil {
		return nil, srcError("could not be downloaded (the transfer broke off)")
	}
	if len(data) > MaxImageBytes {
		return nil, srcError(fmt.Sprintf("is larger than %d MB", MaxImageBytes>>20))
	}
	return data, nil
}

// fetchSrc reads the image at src: from the bucket when src is one of store
// t's own image URLs (a client sending back the src it was given, or
// copying an image to another product), otherwise over the network.
func (s *Service) fetchSrc(ctx context.Context, t *tenant.Tenant, src string) ([]byte, error) {
	own := s.ImageURL(t, "")
	if rest, ok := strings.CutPrefix(src, own); ok {
		file, _, _ := strings.Cut(rest, "?")
		if !fileName.MatchString(file) {
			return nil, srcError("is not an image of this store")
		}
		data, err := s.files.Bucket.ReadAll(ctx, imageKey(t, file))
		if blob.IsNotFound(err) {
			return nil, srcError("is not an image of this store")
		}
		if err != nil {
			return nil, fmt.Errorf("read image %s: %w", file, err)
		}
		return data, nil
	}
	return s.fetch(ctx, src)
}

// prepare reads a new image's bytes — fetched or attached — checks them and
// stores them, before any transaction opens: a slow download must not hold
// one. field names the input in error messages.
func (s *Service) prepare(ctx context.Context, t *tenant.Tenant, in ImageInput, field string) (upload, error) {
	data, what := in.Attachment, "attachment"
	if in.Src != "" {
		var err error
		data, err = s.fetchSrc(ctx, t, in.Src)
		var bad srcError
		if errors.As(err, &bad) {
			return upload{}, imageError(field, "src "+string(bad))
		}
		if err != nil {
			return upload{}, err
		}
		what = "src"
	}
	up, err := readImage(data)
	if err != nil {
		return upload{}, imageError(field, what+" "+err.Error())
	}
	if err := blob.Put(ctx, s.files.Bucket, imageKey(t, up.file), up.data, up.contentType); err != nil {
		return upload{}, err
	}
	return up, nil
}

func imageError(field, msg string) error {
	return &errs.Error{Kind: errs.Invalid, Message: "image " + msg, Fields: map[string][]string{field: {msg}}}
}

// lockFile serialises the store's use of one file: adding a row that names
// it, and deleting the blob when no row does.
func lockFile(tx *gorm.DB, t *tenant.Tenant, file string) error {
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, imageKey(t, file)).Error; err != nil {
		return fmt.Errorf("lock image file: %w", err)
	}
	return nil
}

// claim makes sure the blob a new row will name exists, under the file's
// lock: a concurrent release may have deleted it between prepare and now.
func (s *Service) claim(ctx context.Context, tx *gorm.DB, t *tenant.Tenant, up upload) error {
	if err := lockFile(tx, t, up.file); err != nil {
		return err
	}
	ok, err := blob.Exists(ctx, s.files.Bucket, imageKey(t, up.file))
	if err != nil || ok {
		return err
	}
	return blob.Put(ctx, s.files.Bucket, imageKey(t, up.file), up.data, up.contentType)
}

// release deletes the blobs of files no image of store t names any more.
// It runs after the transaction that dropped the rows has committed; a
// failure leaves an unused file behind, never a row without its file.
func (s *Service) release(ctx context.Context, t *tenant.Tenant, files []string) error {
	for _, file := range files {
		err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
			if err := lockFile(tx, t, file); err != nil {
				return err
			}
			var used bool
			if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM product_images WHERE file = ?)`, file).Scan(&used).Error; err != nil {
				return fmt.Errorf("find image file: %w", err)
			}
			if used {
				return nil
			}
			if err := blob.Delete(ctx, s.files.Bucket, imageKey(t, file)); err != nil {
				return err
			}
			return s.deleteVariants(ctx, t, file)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Images lists store t's product productID's images in position order.
//
// Errors: NotFound.
func (s *Service) Images(ctx context.Context, t *tenant.Tenant, productID int64) ([]Image, error) {
	var out []Image
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		if err := productExists(tx, productID); err != nil {
			return err
		}
		byProduct, err := findImages(tx, []int64{productID})
		out = byProduct[productID]
		return err
	})
	return out, err
}

// Image returns image id of store t's product productID.
//
// Errors: NotFound.
func (s *Service) Image(ctx context.Context, t *tenant.Tenant, productID, id int64) (Image, error) {
	imgs, err := s.Images(ctx, t, productID)
	if err != nil {
		return Image{}, err
	}
	for _, im := range imgs {
		if im.ID == id {
			return im, nil
		}
	}
	return Image{}, ErrImageNotFound
}

// CreateImage adds an image to store t's product productID, at in.Position
// (the others move down) or last.
//
// Errors: NotFound, Invalid (no source, not an image, too big, a src that
// cannot be fetched or points inside our network, a variant of another
// product).
func (s *Service) CreateImage(ctx context.Context, t *tenant.Tenant, productID int64, in ImageInput) (Image, error) {
	f := errs.Fields{}
	in.validate(f, "image", true)
	if err := f.Err(); err != nil {
		return Image{}, err
	}
	up, err := s.prepare(ctx, t, in, "image")
	if err != nil {
		return Image{}, err
	}
	var id int64
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := lockProduct(tx, productID); err != nil {
			return err
		}
		if err := s.claim(ctx, tx, t, up); err != nil {
			return err
		}
		if id, err = insertImage(tx, productID, up, in); err != nil {
			return err
		}
		return s.emitProduct(tx, t, "products/update", productID)
	})
	if err != nil {
		return Image{}, err
	}
	return s.Image(ctx, t, productID, id)
}

// UpdateImage changes image id of store t's product productID: its alt text,
// position, variants, or (with Src or Attachment) its picture.
//
// Errors: NotFound, Invalid.
func (s *Service) UpdateImage(ctx context.Context, t *tenant.Tenant, productID, id int64, in ImageInput) (Image, error) {
	in.ID = id
	f := errs.Fields{}
	in.validate(f, "image", false)
	if err := f.Err(); err != nil {
		return Image{}, err
	}
	var up *upload
	if in.Src != "" || len(in.Attachment) > 0 {
		u, err := s.prepare(ctx, t, in, "image")
		if err != nil {
			return Image{}, err
		}
		up = &u
	}
	var replaced string
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := lockProduct(tx, productID); err != nil {
			return err
		}
		if up != nil {
			if err := s.claim(ctx, tx, t, *up); err != nil {
				return err
			}
		}
		var err error
		if replaced, err = updateImage(tx, productID, in, up); err != nil {
			return err
		}
		return s.emitProduct(tx, t, "products/update", productID)
	})
	if err != nil {
		return Image{}, err
	}
	if replaced != "" {
		if err := s.release(ctx, t, []string{replaced}); err != nil {
			return Image{}, err
		}
	}
	return s.Image(ctx, t, productID, id)
}

// DeleteImage removes image id from store t's product productID; variants
// showing it show none.
//
// Errors: NotFound.
func (s *Service) DeleteImage(ctx context.Context, t *tenant.Tenant, productID, id int64) error {
	var file string
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := lockProduct(tx, productID); err != nil {
			return err
		}
		var err error
		if file, err = deleteImage(tx, productID, id); err != nil {
			return err
		}
		return s.emitProduct(tx, t, "products/update", productID)
	})
	if err != nil {
		return err
	}
	return s.release(ctx, t, []string{file})
}

// CountImages counts store t's product productID's images.
//
// Errors: NotFound.
func (s *Service) CountImages(ctx context.Context, t *tenant.Tenant, productID int64) (int, error) {
	imgs, err := s.Images(ctx, t, productID)
	return len(imgs), err
}

// prepareAll prepares the new pictures among ins (nil for those that keep
// theirs), before the product's transaction opens.
func (s *Service) prepareAll(ctx context.Context, t *tenant.Tenant, ins *[]ImageInput) ([]*upload, error) {
	if ins == nil {
		return nil, nil
	}
	ups := make([]*upload, len(*ins))
	for i, in := range *ins {
		if in.Src == "" && len(in.Attachment) == 0 {
			continue
		}
		up, err := s.prepare(ctx, t, in, "images")
		if err != nil {
			var e *errs.Error
			if errors.As(err, &e) && e.Fields != nil {
				e.Fields["images"] = []string{fmt.Sprintf("image %d: %s", i+1, e.Fields["images"][0])}
			}
			return nil, err
		}
		ups[i] = &up
	}
	return ups, nil
}

// writeImages makes product productID's images exactly ins, in that order,
// with ups their prepared pictures; it returns the files rows no longer
// name, for release after commit. A nil ins leaves the images alone.
func (s *Service) writeImages(ctx context.Context, tx *gorm.DB, t *tenant.Tenant, productID int64, ins *[]ImageInput, ups []*upload) ([]string, error) {
	if ins == nil {
		return nil, nil
	}
	keep := make([]int64, 0, len(*ins))
	for _, in := range *ins {
		if in.ID != 0 {
			keep = append(keep, in.ID)
		}
	}
	var gone []string
	err := tx.Raw(`DELETE FROM product_images WHERE product_id = ? AND NOT (id = ANY (?::bigint[])) RETURNING file`, productID, pg.Int8Array(keep)).Scan(&gone).Error
	if err != nil {
		return nil, fmt.Errorf("delete images: %w", err)
	}
	// Close the gaps, so that placing each listed image at its index below
	// leaves positions 1…n in list order.
	err = tx.Exec(`UPDATE product_images i SET position = o.n FROM (
		SELECT id, row_number() OVER (ORDER BY position) AS n FROM product_images WHERE product_id = ?) o
		WHERE i.id = o.id AND i.position <> o.n`, productID).Error
	if err != nil {
		return nil, fmt.Errorf("renumber images: %w", err)
	}
	for i, in := range *ins {
		pos := i + 1
		in.Position = &pos
		if ups[i] != nil {
			if err := s.claim(ctx, tx, t, *ups[i]); err != nil {
				return nil, err
			}
		}
		if in.ID == 0 {
			if _, err := insertImage(tx, productID, *ups[i], in); err != nil {
				return nil, err
			}
			continue
		}
		replaced, err := updateImage(tx, productID, in, ups[i])
		if errors.Is(err, ErrImageNotFound) {
			return nil, &errs.Error{Kind: errs.Invalid, Message: "unknown image",
				Fields: map[string][]string{"images": {fmt.Sprintf("image %d: %d is not an image of this product", i+1, in.ID)}}}
		}
		if err != nil {
			return nil, err
		}
		if replaced != "" {
			gone = append(gone, replaced)
		}
	}
	return gone, nil
}
