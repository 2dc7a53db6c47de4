package fulfillment

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
)

// AdminRoutes mounts fulfillment_services.json, behind the fulfillments
// scopes, as Shopify has it. An app sees its own services, or with
// scope=all every one in the store, and changes only its own; staff see and
// change them all.
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("fulfillments", rbac.Read), g.Require("fulfillments", rbac.Write)
	r.GET("/fulfillment_services.json", read, g.Handle(s.listProviders))
	r.POST("/fulfillment_services.json", write, g.Handle(s.createProvider))
	r.GET("/fulfillment_services/:file", read, g.Handle(s.getProvider))
	r.PUT("/fulfillment_services/:file", write, g.Handle(s.updateProvider))
	r.DELETE("/fulfillment_services/:file", write, g.Handle(s.deleteProvider))
}

type providerJSON struct {
	ID                     int64     `json:"id"`
	Name                   string    `json:"name"`
	ServiceName            string    `json:"service_name"`
	Handle                 string    `json:"handle"`
	Email                  *string   `json:"email"`
	CallbackURL            string    `json:"callback_url"`
	Format                 string    `json:"format"`
	InventoryManagement    bool      `json:"inventory_management"`
	TrackingSupport        bool      `json:"tracking_support"`
	RequiresShippingMethod bool      `json:"requires_shipping_method"`
	PermitsSKUSharing      bool      `json:"permits_sku_sharing"`
	FulfillmentOrdersOptIn bool      `json:"fulfillment_orders_opt_in"`
	IncludePendingStock    bool      `json:"include_pending_stock"`
	ProviderID             *int64    `json:"provider_id"`
	LocationID             *int64    `json:"location_id"`
	AdminGraphqlAPIID      string    `json:"admin_graphql_api_id"`
	Default                bool      `json:"default"` // Storefleet extensions from here
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
}

func toProviderJSON(p Provider) providerJSON {
	out := providerJSON{ID: p.ID, Name: p.Name, ServiceName: p.Name, Handle: p.Handle, CallbackURL: p.CallbackURL,
		Format: p.Format, InventoryManagement: p.InventoryManagement, TrackingSupport: p.TrackingSupport,
		RequiresShippingMethod: p.RequiresShippingMethod, PermitsSKUSharing: p.PermitsSKUSharing, FulfillmentOrdersOptIn: true,
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/ApiFulfillmentService/%d", p.ID), Default: p.Default,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.Email != "" {
		out.Email = &p.Email
	}
	return out
}

// providerRequest is the body of POST and PUT fulfillment_services.json.
type providerRequest struct {
	Name                   *string `json:"name"`
	Email                  *string `json:"email"`
	CallbackURL            *string `json:"callback_url"`
	Format                 *string `json:"format"`
	InventoryManagement    *bool   `json:"inventory_management"`
	TrackingSupport        *bool   `json:"tracking_support"`
	RequiresShippingMethod *bool   `json:"requires_shipping_method"`
	PermitsSKUSharing      *bool   `json:"permits_sku_sharing"`
	Default                *bool   `json:"default"`
}

func (r providerRequest) toInput() Input {
	return Input{Name: r.Name, Email: r.Email, CallbackURL: r.CallbackURL, Format: r.Format,
		InventoryManagement: r.InventoryManagement, TrackingSupport: r.TrackingSupport,
		RequiresShippingMethod: r.RequiresShippingMethod, PermitsSKUSharing: r.PermitsSKUSharing, Default: r.Default}
}

// caller is the token id changes are made as: the app's, or 0 for staff.
func caller(c *gin.Context) int64 { return apps.PrincipalOf(c).Token.ID }

func writeProvider(c *gin.Context, status int, p Provider) {
	c.JSON(status, gin.H{"fulfillment_service": toProviderJSON(p)})
}

func (s *Service) listProviders(c *gin.Context) error {
	f := Filter{Token: caller(c), All: caller(c) == 0} // staff run the whole store
	switch c.Query("scope") {
	case "", "current_client":
	case "all":
		f.All = true
	default:
		return apps.Malformed(errs.Fields{"scope": {"must be current_client or all"}}.Err())
	}
	ps, err := s.Providers(c.Request.Context(), apps.PrincipalOf(c).Store, f)
	if err != nil {
		return err
	}
	out := make([]providerJSON, len(ps))
	for i, p := range ps {
		out[i] = toProviderJSON(p)
	}
	c.JSON(http.StatusOK, gin.H{"fulfillment_services": out})
	return nil
}

func (s *Service) getProvider(c *gin.Context) error {
	id, err := apps.FileID(c.Param("file"), ErrProviderNotFound)
	if err != nil {
		return err
	}
	p, err := s.Provider(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	writeProvider(c, http.StatusOK, p)
	return nil
}

func (s *Service) createProvider(c *gin.Context) error {
	var req providerRequest
	if err := apps.DecodeEnvelope(c, "fulfillment_service", &req); err != nil {
		return err
	}
	p, err := s.CreateProvider(c.Request.Context(), apps.PrincipalOf(c).Store, caller(c), req.toInput())
	if err != nil {
		return err
	}
	writeProvider(c, http.StatusCreated, p)
	return nil
}

func (s *Service) updateProvider(c *gin.Context) error {
	id, err := apps.FileID(c.Param("file"), ErrProviderNotFound)
	if err != nil {
		return err
	}
	var req providerRequest
	if err := apps.DecodeEnvelope(c, "fulfillment_service", &req); err != nil {
		return err
	}
	p, err := s.UpdateProvider(c.Request.Context(), apps.PrincipalOf(c).Store, caller(c), id, req.toInput())
	if err != nil {
		return err
	}
	writeProvider(c, http.StatusOK, p)
	return nil
}

func (s *Service) deleteProvider(c *gin.Context) error {
	id, err := apps.FileID(c.Param("file"), ErrProviderNotFound)
	if err != nil {
		return err
	}
	if err := s.DeleteProvider(c.Request.Context(), apps.PrincipalOf(c).Store, caller(c), id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}
