package catalog

import (
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
)

type imageRow struct {
	ID        int64     `gorm:"column:id"`
	ProductID int64     `gorm:"column:product_id"`
	Position  int       `gorm:"column:position"`
	Alt       *string   `gorm:"column:alt"`
	File      string    `gorm:"column:file"`
	Width     int       `gorm:"column:width"`
	Height    int       `gorm:"column:height"`
	CreatedAt time.Time `gorm:"column:created_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func (r imageRow) toImage() Image {
	return Image{ID: r.ID, ProductID: r.ProductID, Position: r.Position, Alt: r.Alt, File: r.File,
		Width: r.Width, Height: r.Height, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, VariantIDs: []int64{}}
}

// findImages loads the images of the products ids, in position order, with
// the variants that show each.
func findImages(tx *gorm.DB, ids []int64) (map[int64][]Image, error) {
	var rows []imageRow
	err := tx.Raw(`SELECT id, product_id, position, alt, file, width, height, created_at, updated_at
		FROM product_images WHERE product_id IN ? ORDER BY product_id, position`, ids).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find images: %w", err)
	}
	var uses []struct {
		ID      int64 `gorm:"column:id"`
		ImageID int64 `gorm:"column:image_id"`
	}
	if len(rows) > 0 {
		err = tx.Raw(`SELECT id, image_id FROM variants WHERE product_id IN ? AND image_id IS NOT NULL ORDER BY id`, ids).Scan(&uses).Error
		if err != nil {
			return nil, fmt.Errorf("find variant images: %w", err)
		}
	}
	variants := map[int64][]int64{}
	for _, u := range uses {
		variants[u.ImageID] = append(variants[u.ImageID], u.ID)
	}
	out := make(map[int64][]Image, len(ids))
	for _, r := range rows {
		im := r.toImage()
		if vs := variants[im.ID]; vs != nil {
			im.VariantIDs = vs
		}
		out[r.ProductID] = append(out[r.ProductID], im)
	}
	return out, nil
}

// productExists is NotFound unless product id exists.
func productExists(tx *gorm.DB, id int64) error {
	var ok bool
	if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM products WHERE id = ?)`, id).Scan(&ok).Error; err != nil {
		return fmt.Errorf("find product %d: %w", id, err)
	}
	if !ok {
		return ErrProductNotFound
	}
	return nil
}

// lockProduct locks product id's row, so that changes to its images (their
// positions above all) happen one at a time.
func lockProduct(tx *gorm.DB, id int64) error {
	var ids []int64
	if err := tx.Raw(`SELECT id FROM products WHERE id = ? FOR NO KEY UPDATE`, id).Scan(&ids).Error; err != nil {
		return fmt.Errorf("lock product %d: %w", id, err)
	}
	if len(ids) == 0 {
		return ErrProductNotFound
	}
	return nil
}

var errTooManyImages = &errs.Error{Kind: errs.Invalid, Message: "too many images",
	Fields: map[string][]string{"image": {fmt.Sprintf("a product can have at most %d images", MaxImages)}}}

// insertImage adds up as product productID's image at in.Position, moving
// later images down, or last. The product's row must be locked.
func insertImage(tx *gorm.DB, productID int64, up upload, in ImageInput) (int64, error) {
	var n int
	if err := tx.Raw(`SELECT count(*) FROM product_images WHERE product_id = ?`, productID).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count images: %w", err)
	}
	if n >= MaxImages {
		return 0, errTooManyImages
	}
	pos := n + 1
	if in.Position != nil && *in.Position < pos {
		pos = *in.Position
		if err := tx.Exec(`UPDATE product_images SET position = position + 1 WHERE product_id = ? AND position >= ?`, productID, pos).Error; err != nil {
			return 0, fmt.Errorf("make room for image: %w", err)
		}
	}
	var alt *string
	if in.Alt != nil && *in.Alt != "" {
		alt = in.Alt
	}
	var id int64
	err := tx.Raw(`INSERT INTO product_images (product_id, position, alt, file, width, height)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, productID, pos, alt, up.file, up.width, up.height).Scan(&id).Error
	if err != nil {
		return 0, fmt.Errorf("insert image: %w", err)
	}
	if in.VariantIDs != nil {
		return id, showOn(tx, productID, id, *in.VariantIDs)
	}
	return id, nil
}

// updateImage applies in to image in.ID of product productID, with up as its
// new picture if not nil, and returns the file it replaced, if any. The
// product's row must be locked.
func updateImage(tx *gorm.DB, productID int64, in ImageInput, up *upload) (string, error) {
	var rows []imageRow
	err := tx.Raw(`SELECT id, position, file FROM product_images WHERE id = ? AND product_id = ?`, in.ID, productID).Scan(&rows).Error
	if err != nil {
		return "", fmt.Errorf("find image %d: %w", in.ID, err)
	}
	if len(rows) == 0 {
		return "", ErrImageNotFound
	}
	old := rows[0]
	if in.Position != nil && *in.Position != old.Position {
		if err := moveImage(tx, productID, old.ID, old.Position, *in.Position); err != nil {
			return "", err
		}
	}
	set := map[string]any{"updated_at": time.Now().UTC()}
	if in.Alt != nil {
		set["alt"] = nil
		if *in.Alt != "" {
			set["alt"] = *in.Alt
		}
	}
	replaced := ""
	if up != nil && up.file != old.File {
		set["file"], set["width"], set["height"] = up.file, up.width, up.height
		replaced = old.File
	}
	if err := tx.Table("product_images").Where("id = ?", old.ID).Updates(set).Error; err != nil {
		return "", fmt.Errorf("update image %d: %w", old.ID, err)
	}
	if in.VariantIDs != nil {
		return replaced, showOn(tx, productID, old.ID, *in.VariantIDs)
	}
	return replaced, nil
}

// moveImage moves image id of product productID from position from to to
// (at most the last), shifting the images between.
func moveImage(tx *gorm.DB, productID, id int64, from, to int) error {
	var n int
	if err := tx.Raw(`SELECT count(*) FROM product_images WHERE product_id = ?`, productID).Scan(&n).Error; err != nil {
		return fmt.Errorf("count images: %w", err)
	}
	to = min(to, n)
	var err error
	switch {
	case to < from:
		err = tx.Exec(`UPDATE product_images SET position = position + 1 WHERE product_id = ? AND position >= ? AND position < ?`, productID, to, from).Error
	case to > from:
		err = tx.Exec(`UPDATE product_images SET position = position - 1 WHERE product_id = ? AND position > ? AND position <= ?`, productID, from, to).Error
	}
	if err == nil {
		err = tx.Exec(`UPDATE product_images SET position = ? WHERE id = ?`, to, id).Error
	}
	if err != nil {
		return fmt.Errorf("move image %d: %w", id, err)
	}
	return nil
}

// showOn makes variants exactly the variants of product productID that
// show image id. Each must belong to the product.
func showOn(tx *gorm.DB, productID, id int64, variants []int64) error {
	variants = slices.Compact(slices.Sorted(slices.Values(variants)))
	if err := tx.Exec(`UPDATE variants SET image_id = NULL WHERE image_id = ? AND NOT (id = ANY (?::bigint[]))`, id, pg.Int8Array(variants)).Error; err != nil {
		return fmt.Errorf("clear variant images: %w", err)
	}
	if len(variants) == 0 {
		return nil
	}
	res := tx.Exec(`UPDATE variants SET image_id = ? WHERE product_id = ? AND id IN ?`, id, productID, variants)
	if res.Error != nil {
		return fmt.Errorf("set variant images: %w", res.Error)
	}
	if int(res.RowsAffected) != len(variants) {
		return &errs.Error{Kind: errs.Invalid, Message: "unknown variant",
			Fields: map[string][]string{"variant_ids": {"must all be variants of this product"}}}
	}
	return nil
}

// deleteImage removes image id of product productID, closes the gap in
// positions, and returns its file. The product's row must be locked.
func deleteImage(tx *gorm.DB, productID, id int64) (string, error) {
	var rows []imageRow
	err := tx.Raw(`DELETE FROM product_images WHERE id = ? AND product_id = ? RETURNING position, file`, id, productID).Scan(&rows).Error
	if err != nil {
		return "", fmt.Errorf("delete image %d: %w", id, err)
	}
	if len(rows) == 0 {
		return "", ErrImageNotFound
	}
	err = tx.Exec(`UPDATE product_images SET position = position - 1 WHERE product_id = ? AND position > ?`, productID, rows[0].Position).Error
	if err != nil {
		return "", fmt.Errorf("close image gap: %w", err)
	}
	return rows[0].File, nil
}
