package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
)

// Request limits, as Shopify has them.
const (
	maxItemIDs  = 100 // ids of inventory_items.json
	maxLevelIDs = 50  // inventory_item_ids and location_ids of inventory_levels.json
)

// AdminRoutes mounts the location, inventory item and inventory level
// resources. Gin needs one wildcard name per segment position, so it is
// "file" after /locations/ and /inventory_items/: "123.json" or
// "count.json" on the resource itself, "123" below it.
//
// Every route asks for the inventory scope: Shopify guards locations with
// read_locations, a scope Storefleet does not have, and stock is what
// callers read locations for.
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("inventory", rbac.Read), g.Require("inventory", rbac.Write)
	r.GET("/locations.json", read, g.Handle(s.listLocations))
	r.GET("/locations/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.countLocations(c)
		}
		return s.getLocation(c)
	}))
	r.GET("/locations/:file/inventory_levels.json", read, g.Handle(s.listLocationLevels))

	r.GET("/inventory_items.json", read, g.Handle(s.listItems))
	r.GET("/inventory_items/:file", read, g.Handle(s.getItem))
	r.PUT("/inventory_items/:file", write, g.Handle(s.updateItem))
	r.GET("/inventory_items/:file/adjustments.json", read, g.Handle(s.listAdjustments))

	r.GET("/inventory_levels.json", read, g.Handle(s.listLevels))
	r.DELETE("/inventory_levels.json", write, g.Handle(s.disconnect))
	r.POST("/inventory_levels/connect.json", write, g.Handle(s.connect))
	r.POST("/inventory_levels/set.json", write, g.Handle(s.set))
	r.POST("/inventory_levels/adjust.json", write, g.Handle(s.adjust))
}

// --- JSON shapes -------------------------------------------------------------

type locationJSON struct {
	ID                int64     `json:"id"`
	Name              string    `json:"name"`
	Address1          *string   `json:"address1"`
	Address2          *string   `json:"address2"`
	City              *string   `json:"city"`
	Zip               *string   `json:"zip"`
	Province          *string   `json:"province"`
	Country           *string   `json:"country"`
	Phone             *string   `json:"phone"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	CountryCode       *string   `json:"country_code"`
	ProvinceCode      *string   `json:"province_code"`
	Legacy            bool      `json:"legacy"`
	Active            bool      `json:"active"`
	AdminGraphqlAPIID string    `json:"admin_graphql_api_id"`
}

type itemJSON struct {
	ID                           int64     `json:"id"`
	SKU                          string    `json:"sku"`
	CreatedAt                    time.Time `json:"created_at"`
	UpdatedAt                    time.Time `json:"updated_at"`
	RequiresShipping             bool      `json:"requires_shipping"`
	Cost                         *string   `json:"cost"`
	CountryCodeOfOrigin          *string   `json:"country_code_of_origin"`
	ProvinceCodeOfOrigin         *string   `json:"province_code_of_origin"`
	HarmonizedSystemCode         *string   `json:"harmonized_system_code"`
	Tracked                      bool      `json:"tracked"`
	CountryHarmonizedSystemCodes []any     `json:"country_harmonized_system_codes"`
	AdminGraphqlAPIID            string    `json:"admin_graphql_api_id"`
}

type levelJSON struct {
	InventoryItemID   int64     `json:"inventory_item_id"`
	LocationID        int64     `json:"location_id"`
	Available         int64     `json:"available"`
	UpdatedAt         time.Time `json:"updated_at"`
	AdminGraphqlAPIID string    `json:"admin_graphql_api_id"`
}

type adjustmentJSON struct {
	ID              int64     `json:"id"`
	InventoryItemID int64     `json:"inventory_item_id"`
	LocationID      int64     `json:"location_id"`
	Delta           int64     `json:"delta"`
	AvailableAfter  int64     `json:"available_after"`
	Reason          string    `json:"reason"`
	Actor           string    `json:"actor"`
	CreatedAt       time.Time `json:"created_at"`
}

// orNull is s, or null when it is empty, as Shopify writes unset text.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toLocationJSON(l Location) locationJSON {
	return locationJSON{
		ID: l.ID, Name: l.Name, Address1: orNull(l.Address1), City: orNull(l.City), Zip: orNull(l.Zip),
		Province: orNull(l.Province), Country: orNull(l.CountryCode), Phone: orNull(l.Phone),
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, CountryCode: orNull(l.CountryCode), Active: l.Active,
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Location/%d", l.ID),
	}
}

func toItemJSON(it Item, cur money.Currency) itemJSON {
	out := itemJSON{
		ID: it.ID, SKU: it.SKU, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, RequiresShipping: it.RequiresShipping,
		Tracked: it.Tracked, CountryHarmonizedSystemCodes: []any{},
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/InventoryItem/%d", it.ID),
	}
	if it.Cost != nil {
		c := cur.Format(*it.Cost)
		out.Cost = &c
	}
	return out
}

func toLevelJSON(l Level) levelJSON {
	return levelJSON{
		InventoryItemID: l.ItemID, LocationID: l.LocationID, Available: l.Available, UpdatedAt: l.UpdatedAt,
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/InventoryLevel/%d?inventory_item_id=%d", l.LocationID, l.ItemID),
	}
}

func toAdjustmentJSON(a Adjustment) adjustmentJSON {
	return adjustmentJSON{ID: a.ID, InventoryItemID: a.ItemID, LocationID: a.LocationID, Delta: a.Delta,
		AvailableAfter: a.AvailableAfter, Reason: a.Reason, Actor: a.Actor, CreatedAt: a.CreatedAt}
}

// --- requests ------------------------------------------------------------------

var typeOfString = reflect.TypeOf("")

type itemRequest struct {
	SKU              *string                     `json:"sku"`
	Tracked          *bool                       `json:"tracked"`
	Cost             apps.Optional[apps.Decimal] `json:"cost"`
	RequiresShipping *bool                       `json:"requires_shipping"`
}

// toItemUpdate converts a request, parsing the cost in cur; a null or empty
// cost clears it.
func (r itemRequest) toItemUpdate(cur money.Currency) (ItemUpdate, error) {
	in := ItemUpdate{SKU: r.SKU, Tracked: r.Tracked, RequiresShipping: r.RequiresShipping}
	if r.Cost.Set {
		var cost *money.Amount
		if !r.Cost.Null && strings.TrimSpace(string(r.Cost.Value)) != "" {
			a, err := cur.Parse(string(r.Cost.Value))
			if err != nil {
				return ItemUpdate{}, &errs.Error{Kind: errs.Invalid, Message: "cost " + errs.MessageOf(err),
					Fields: map[string][]string{"cost": {errs.MessageOf(err)}}}
			}
			cost = &a
		}
		in.Cost = &cost
	}
	return in, nil
}

// numberText is a number as written, 5 or "5", so that 1.5, 1e20 or "x"
// is refused by name as not an integer rather than rounded or misread.
type numberText string

func (n *numberText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*n = numberText(s)
		return nil
	}
	var num json.Number
	if err := json.Unmarshal(b, &num); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: typeOfString}
	}
	*n = numberText(num.String())
	return nil
}

// levelRequest is the body of connect.json, set.json and adjust.json: a
// bare object, not an envelope, as on Shopify.
type levelRequest struct {
	LocationID          *numberText `json:"location_id"`
	InventoryItemID     *numberText `json:"inventory_item_id"`
	Available           *numberText `json:"available"`
	AvailableAdjustment *numberText `json:"available_adjustment"`
	Reason              *string     `json:"reason"`
}

// toChange converts a request for actor; quantity names the quantity field
// the endpoint takes ("available", "available_adjustment"), or is empty
// for connect.json.
//
// Errors: Invalid, naming each missing or unreadable field.
func (r levelRequest) toChange(quantity, actor string) (Change, error) {
	f := errs.Fields{}
	id := func(field string, n *numberText) int64 {
		if n == nil {
			f.Add(field, "is required")
			return 0
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(*n)), 10, 64)
		if err != nil || v <= 0 {
			f.Add(field, "must be a positive integer")
		}
		return v
	}
	ch := Change{ItemID: id("inventory_item_id", r.InventoryItemID), LocationID: id("location_id", r.LocationID), Actor: actor}
	if r.Reason != nil {
		ch.Reason = *r.Reason
	}
	n := map[string]*numberText{"available": r.Available, "available_adjustment": r.AvailableAdjustment}[quantity]
	switch {
	case quantity == "":
	case n == nil:
		f.Add(quantity, "is required")
	default:
		v, err := strconv.ParseInt(strings.TrimSpace(string(*n)), 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange):
			f.Add(quantity, "must be between %d and %d", -MaxAvailable, MaxAvailable)
		case err != nil:
			f.Add(quantity, "must be an integer")
		}
		ch.Quantity = v
	}
	if err := f.Err(); err != nil {
		return Change{}, err
	}
	return ch, nil
}

// --- location handlers ---------------------------------------------------------

func (s *Service) listLocations(c *gin.Context) error {
	ls, err := s.Locations(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(ls))
	for i, l := range ls {
		out[i] = apps.KeepFields(toLocationJSON(l), fields)
	}
	c.JSON(http.StatusOK, gin.H{"locations": out})
	return nil
}

func (s *Service) countLocations(c *gin.Context) error {
	n, err := s.CountLocations(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

func (s *Service) getLocation(c *gin.Context) error {
	id, err := fileID(c, ErrLocationNotFound)
	if err != nil {
		return err
	}
	l, err := s.Location(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"location": apps.KeepFields(toLocationJSON(l), apps.SplitList(c.Query("fields")))})
	return nil
}

func (s *Service) listLocationLevels(c *gin.Context) error {
	id, err := bareID(c, ErrLocationNotFound)
	if err != nil {
		return err
	}
	v := c.Request.URL.Query()
	f := errs.Fields{}
	q, paged := parseLevelPage(f, v)
	if !paged {
		q = LevelQuery{Limit: apps.ParseLimit(f, v)}
	}
	if len(q.ItemIDs) > 0 || len(q.LocationIDs) > 1 {
		f.Add("page_info", "is invalid; use the link from the previous response as it is")
	}
	if err := f.Err(); err != nil {
		return apps.Malformed(err)
	}
	ls, more, err := s.LocationLevels(c.Request.Context(), apps.PrincipalOf(c).Store, id, q)
	if err != nil {
		return err
	}
	setLevelLinks(c, LevelQuery{Limit: q.Limit, AfterItem: q.AfterItem, BeforeItem: q.BeforeItem}, ls, more, paged)
	return writeLevels(c, ls)
}

// --- item handlers -------------------------------------------------------------

// fileID reads the id of a "<id>.json" segment.
func fileID(c *gin.Context, notFound error) (int64, error) {
	if !strings.HasSuffix(c.Param("file"), ".json") {
		return 0, notFound
	}
	return apps.FileID(c.Param("file"), notFound)
}

// bareID reads the id of a "<id>" segment, one with resources below it.
func bareID(c *gin.Context, notFound error) (int64, error) {
	id, err := strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound
	}
	return id, nil
}

// writeItems writes items under key ("inventory_item" for one,
// "inventory_items" for a list), with costs in the store's currency.
func (s *Service) writeItems(c *gin.Context, key string, its []Item) error {
	cur, err := s.Currency(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(its))
	for i, it := range its {
		out[i] = apps.KeepFields(toItemJSON(it, cur), fields)
	}
	if key == "inventory_item" {
		c.JSON(http.StatusOK, gin.H{key: out[0]})
	} else {
		c.JSON(http.StatusOK, gin.H{key: out})
	}
	return nil
}

func (s *Service) listItems(c *gin.Context) error {
	v := c.Request.URL.Query()
	f := errs.Fields{}
	limit := apps.ParseLimit(f, v)
	ids := parseIDs(f, v, "ids", maxItemIDs)
	if len(ids) == 0 && len(f["ids"]) == 0 {
		f.Add("ids", "is required: comma-separated inventory item ids")
	}
	refusePageInfo(f, v)
	if err := f.Err(); err != nil {
		return apps.Malformed(err)
	}
	its, err := s.Items(c.Request.Context(), apps.PrincipalOf(c).Store, ids, limit)
	if err != nil {
		return err
	}
	return s.writeItems(c, "inventory_items", its)
}

func (s *Service) getItem(c *gin.Context) error {
	id, err := fileID(c, ErrItemNotFound)
	if err != nil {
		return err
	}
	it, err := s.Item(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	return s.writeItems(c, "inventory_item", []Item{it})
}

func (s *Service) updateItem(c *gin.Context) error {
	id, err := fileID(c, ErrItemNotFound)
	if err != nil {
		return err
	}
	t := apps.PrincipalOf(c).Store
	var req itemRequest
	if err := apps.DecodeEnvelope(c, "inventory_item", &req); err != nil {
		return err
	}
	cur, err := s.Currency(c.Request.Context(), t)
	if err != nil {
		return err
	}
	in, err := req.toItemUpdate(cur)
	if err != nil {
		return err
	}
	it, err := s.UpdateItem(c.Request.Context(), t, id, in)
	if err != nil {
		return err
	}
	return s.writeItems(c, "inventory_item", []Item{it})
}

// listAdjustments is a Storefleet extension, not in Shopify's REST API: the
// recorded changes to an item's levels, newest first, each with its delta,
// the count after it, its reason and who made it.
func (s *Service) listAdjustments(c *gin.Context) error {
	id, err := bareID(c, ErrItemNotFound)
	if err != nil {
		return err
	}
	limit, err := parseLimit(c.Request.URL.Query())
	if err != nil {
		return err
	}
	as, err := s.Adjustments(c.Request.Context(), apps.PrincipalOf(c).Store, id, limit)
	if err != nil {
		return err
	}
	out := make([]adjustmentJSON, len(as))
	for i, a := range as {
		out[i] = toAdjustmentJSON(a)
	}
	c.JSON(http.StatusOK, gin.H{"inventory_adjustments": out})
	return nil
}

// --- level handlers ------------------------------------------------------------

func writeLevels(c *gin.Context, ls []Level) error {
	out := make([]levelJSON, len(ls))
	for i, l := range ls {
		out[i] = toLevelJSON(l)
	}
	c.JSON(http.StatusOK, gin.H{"inventory_levels": out})
	return nil
}

func writeLevel(c *gin.Context, status int, l Level) error {
	c.JSON(status, gin.H{"inventory_level": toLevelJSON(l)})
	return nil
}

// listLevels lists levels by item or location. It answers one page of up
// to limit levels and no Link header: page_info is refused, and callers
// narrow the lists instead (50 ids each at most, as on Shopify).
func (s *Service) listLevels(c *gin.Context) error {
	v := c.Request.URL.Query()
	f := errs.Fields{}
	q, paged := parseLevelPage(f, v)
	if !paged {
		q = LevelQuery{Limit: apps.ParseLimit(f, v), ItemIDs: parseIDs(f, v, "inventory_item_ids", maxLevelIDs),
			LocationIDs: parseIDs(f, v, "location_ids", maxLevelIDs)}
	}
	if len(q.ItemIDs) == 0 && len(q.LocationIDs) == 0 && len(f) == 0 {
		f.Add("inventory_item_ids", "or location_ids is required")
	}
	if len(q.ItemIDs) > maxLevelIDs || len(q.LocationIDs) > maxLevelIDs {
		f.Add("page_info", "is invalid; use the link from the previous response as it is")
	}
	if err := f.Err(); err != nil {
		return apps.Malformed(err)
	}
	ls, more, err := s.Levels(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	setLevelLinks(c, q, ls, more, paged)
	return writeLevels(c, ls)
}

// parseLevelPage reads a page_info cursor, if there is one: the filters and
// the (item, location) the page continues from come from it.
func parseLevelPage(f errs.Fields, v url.Values) (q LevelQuery, paged bool) {
	if v.Get("page_info") == "" {
		return LevelQuery{}, false
	}
	limit := apps.ParseLimit(f, v)
	q.AfterItem, q.BeforeItem = apps.PageInfo(f, v, &q)
	q.Limit = limit
	if q.AfterItem == 0 {
		q.AfterLocation = 0
	}
	if q.BeforeItem == 0 {
		q.BeforeLocation = 0
	}
	return q, true
}

// setLevelLinks links a page of levels to its neighbours, each cursor
// holding the (item, location) pair it continues from.
func setLevelLinks(c *gin.Context, q LevelQuery, ls []Level, more, paged bool) {
	if len(ls) == 0 {
		return
	}
	first, last := ls[0], ls[len(ls)-1]
	next, prev := q, q
	next.AfterLocation, next.BeforeLocation = last.LocationID, 0
	prev.AfterLocation, prev.BeforeLocation = 0, first.LocationID
	apps.SetPageLinks(c, q.Limit, next, last.ItemID, prev, first.ItemID, q.BeforeItem != 0, more, paged)
}

// decodeChange reads the body of a level write; quantity as for toChange.
func decodeChange(c *gin.Context, quantity string) (Change, error) {
	var req levelRequest
	if err := apps.DecodeObject(c, &req); err != nil {
		return Change{}, err
	}
	return req.toChange(quantity, apps.PrincipalOf(c).Subject())
}

// connect answers 201 with a new level, and 200 with the level as it is
// when the item was stocked at the location already.
func (s *Service) connect(c *gin.Context) error {
	ch, err := decodeChange(c, "")
	if err != nil {
		return err
	}
	l, existed, err := s.Connect(c.Request.Context(), apps.PrincipalOf(c).Store, ch)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	return writeLevel(c, status, l)
}

func (s *Service) set(c *gin.Context) error {
	ch, err := decodeChange(c, "available")
	if err != nil {
		return err
	}
	l, err := s.SetAvailable(c.Request.Context(), apps.PrincipalOf(c).Store, ch)
	if err != nil {
		return err
	}
	return writeLevel(c, http.StatusOK, l)
}

func (s *Service) adjust(c *gin.Context) error {
	ch, err := decodeChange(c, "available_adjustment")
	if err != nil {
		return err
	}
	l, err := s.AdjustAvailable(c.Request.Context(), apps.PrincipalOf(c).Store, ch)
	if err != nil {
		return err
	}
	return writeLevel(c, http.StatusOK, l)
}

// disconnect answers 204 with no body, as Shopify does.
func (s *Service) disconnect(c *gin.Context) error {
	v := c.Request.URL.Query()
	f := errs.Fields{}
	itemID, locationID := parseID(f, v, "inventory_item_id"), parseID(f, v, "location_id")
	if err := f.Err(); err != nil {
		return apps.Malformed(err)
	}
	if err := s.Disconnect(c.Request.Context(), apps.PrincipalOf(c).Store, itemID, locationID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// --- parameters ------------------------------------------------------------------

// parseIDs reads a comma-separated list of at most most ids.
func parseIDs(f errs.Fields, v url.Values, name string, most int) []int64 {
	var ids []int64
	for _, s := range apps.SplitList(v.Get(name)) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			f.Add(name, "must be comma-separated ids")
			return nil
		}
		ids = append(ids, n)
	}
	if len(ids) > most {
		f.Add(name, "may list at most %d ids", most)
	}
	return ids
}

// parseID reads one required id.
func parseID(f errs.Fields, v url.Values, name string) int64 {
	n, err := strconv.ParseInt(v.Get(name), 10, 64)
	if err != nil || n <= 0 {
		f.Add(name, "is required: a positive integer")
	}
	return n
}

// refusePageInfo refuses page_info where one page is all we answer.
func refusePageInfo(f errs.Fields, v url.Values) {
	if v.Has("page_info") {
		f.Add("page_info", "is not supported here: narrow the ids instead")
	}
}

// parseLimit reads the limit of a list that takes nothing else.
//
// Errors: Malformed.
func parseLimit(v url.Values) (int, error) {
	f := errs.Fields{}
	limit := apps.ParseLimit(f, v)
	refusePageInfo(f, v)
	if err := f.Err(); err != nil {
		return 0, apps.Malformed(err)
	}
	return limit, nil
}
