package catalog

import (
	"fmt"

	"gorm.io/gorm"
)

// OrderVariant is a variant as an order snapshots it: the variant and its
// product's title and vendor.
type OrderVariant struct {
	Variant
	ProductTitle string
	Vendor       string
}

// Grams is the variant's weight in grams, rounded, as order lines carry it.
func (v OrderVariant) Grams() int64 {
	perUnit := map[string]float64{"g": 1, "kg": 1000, "oz": 28.349523125, "lb": 453.59237}[v.WeightUnit]
	if perUnit == 0 {
		perUnit = 1
	}
	return int64(v.Weight*perUnit + 0.5)
}

// VariantsForOrderIn returns the variants ids of any status (an order from
// another channel may sell a draft), by id, for the orders module to
// snapshot into order lines; ids that are not variants are left out.
func VariantsForOrderIn(tx *gorm.DB, ids []int64) (map[int64]OrderVariant, error) {
	out := map[int64]OrderVariant{}
	if len(ids) == 0 {
		return out, nil
	}
	var pids []int64
	if err := tx.Raw(`SELECT DISTINCT product_id FROM variants WHERE id IN ?`, ids).Scan(&pids).Error; err != nil {
		return nil, fmt.Errorf("find order variants: %w", err)
	}
	ps, err := productsByID(tx, pids)
	if err != nil {
		return nil, err
	}
	want := map[int64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, p := range ps {
		for _, v := range p.Variants {
			if want[v.ID] {
				out[v.ID] = OrderVariant{Variant: v, ProductTitle: p.Title, Vendor: p.Vendor}
			}
		}
	}
	return out, nil
}
