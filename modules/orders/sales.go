package orders

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
)

// DaySales is one calendar day of a store's sales, for the dashboard's
// chart: how many orders were placed and what they came to.
type DaySales struct {
	Day     time.Time    // midnight at the start of the day, in the location asked for
	Orders  int64        // orders placed that day, cancelled ones left out
	Revenue money.Amount // their total price, minor units of the store's currency
}

// DailySalesIn sums the orders placed from from (inclusive) to to
// (exclusive) by calendar day in from's location, with one entry for every
// day from from's day to to's day, days without orders included, oldest
// first. Cancelled orders are not sales and are left out. tx is the
// caller's store transaction.
//
// The days are counted by PostgreSQL in from's location, which must be an
// IANA name (the store's time zone: "Europe/Paris") or UTC; time.Local
// counts as UTC.
func DailySalesIn(tx *gorm.DB, from, to time.Time) ([]DaySales, error) {
	loc := from.Location()
	zone := loc.String()
	if loc == time.Local || zone == "" {
		loc, zone = time.UTC, "UTC"
	}
	if !to.After(from) {
		return nil, nil
	}
	var rows []struct {
		Day     time.Time `gorm:"column:day"`
		Orders  int64     `gorm:"column:orders"`
		Revenue int64     `gorm:"column:revenue"`
	}
	err := tx.Raw(`SELECT (o.processed_at AT TIME ZONE ?)::date AS day, count(*) AS orders, coalesce(sum(o.total_price), 0) AS revenue
		FROM orders o WHERE o.processed_at >= ? AND o.processed_at < ? AND o.cancelled_at IS NULL
		GROUP BY 1 ORDER BY 1`, zone, from.UTC(), to.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("sum daily sales: %w", err)
	}
	byDay := make(map[string]DaySales, len(rows))
	for _, r := range rows {
		byDay[r.Day.Format(time.DateOnly)] = DaySales{Orders: r.Orders, Revenue: money.Amount(r.Revenue)}
	}
	f, l := from.In(loc), to.Add(-time.Nanosecond).In(loc)
	first := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	last := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	var out []DaySales
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		s := byDay[d.Format(time.DateOnly)]
		s.Day = d
		out = append(out, s)
	}
	return out, nil
}
