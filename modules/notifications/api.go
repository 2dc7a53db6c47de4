package notifications

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
)

// AdminRoutes mounts notifications.json, a Storefleet extension (Shopify
// edits notifications only in its admin). Reading needs read access to the
// shop, editing and previewing write access: staff roles as for shop.json
// (owner and admins edit, viewers and staff read), and no app scope grants
// either, as a partner must not rewrite what a store tells its customers.
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("shop", rbac.Read), g.Require("shop", rbac.Write)
	r.GET("/notifications.json", read, g.Handle(s.listTemplates))
	r.GET("/notifications/:file", read, g.Handle(s.getTemplate))
	r.PUT("/notifications/:file", write, g.Handle(s.putTemplate))
	r.DELETE("/notifications/:file", write, g.Handle(s.deleteTemplate))
	r.POST("/notifications/:file/preview.json", write, g.Handle(s.previewTemplate))
}

// notificationJSON is a kind's effective template.
type notificationJSON struct {
	Kind        string     `json:"kind"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Subject     string     `json:"subject"`
	BodyHTML    string     `json:"body_html"`
	BodyText    string     `json:"body_text"`
	Customized  bool       `json:"customized"`
	UpdatedAt   *time.Time `json:"updated_at"`
}

func toNotificationJSON(tpl Template) notificationJSON {
	info, _ := infoOf(tpl.Kind)
	return notificationJSON{Kind: string(tpl.Kind), Title: info.title, Description: info.description, Subject: tpl.Subject,
		BodyHTML: tpl.BodyHTML, BodyText: tpl.BodyText, Customized: tpl.Customized, UpdatedAt: tpl.UpdatedAt}
}

// previewJSON is a rendered email.
type previewJSON struct {
	Kind     string `json:"kind"`
	Subject  string `json:"subject"`
	BodyHTML string `json:"body_html"`
	BodyText string `json:"body_text"`
}

// inputJSON is the body of PUT and preview: the parts to change.
type inputJSON struct {
	Subject  *string `json:"subject"`
	BodyHTML *string `json:"body_html"`
	BodyText *string `json:"body_text"`
}

func (in inputJSON) toInput() Input {
	return Input{Subject: in.Subject, BodyHTML: in.BodyHTML, BodyText: in.BodyText}
}

// kindParam reads the kind of /notifications/<kind>.json.
func kindParam(c *gin.Context) (Kind, error) {
	name, ok := strings.CutSuffix(c.Param("file"), ".json")
	if !ok {
		return "", ErrKindNotFound
	}
	return ParseKind(name)
}

func (s *Service) listTemplates(c *gin.Context) error {
	tpls, err := s.Templates(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	out := make([]notificationJSON, 0, len(tpls))
	for _, tpl := range tpls {
		out = append(out, toNotificationJSON(tpl))
	}
	c.JSON(http.StatusOK, gin.H{"notifications": out})
	return nil
}

func (s *Service) getTemplate(c *gin.Context) error {
	kind, err := kindParam(c)
	if err != nil {
		return err
	}
	tpl, err := s.Template(c.Request.Context(), apps.PrincipalOf(c).Store, kind)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"notification": toNotificationJSON(tpl)})
	return nil
}

func (s *Service) putTemplate(c *gin.Context) error {
	kind, err := kindParam(c)
	if err != nil {
		return err
	}
	var req inputJSON
	if err := apps.DecodeEnvelope(c, "notification", &req); err != nil {
		return err
	}
	tpl, err := s.SetTemplate(c.Request.Context(), apps.PrincipalOf(c).Store, kind, req.toInput())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"notification": toNotificationJSON(tpl)})
	return nil
}

func (s *Service) deleteTemplate(c *gin.Context) error {
	kind, err := kindParam(c)
	if err != nil {
		return err
	}
	tpl, err := s.ResetTemplate(c.Request.Context(), apps.PrincipalOf(c).Store, kind)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"notification": toNotificationJSON(tpl)})
	return nil
}

// previewTemplate renders the kind with sample data: the stored template,
// or the parts the body gives ({"notification": {...}}, optional).
func (s *Service) previewTemplate(c *gin.Context) error {
	kind, err := ParseKind(c.Param("file"))
	if err != nil {
		return err
	}
	var req inputJSON
	if c.Request.ContentLength != 0 {
		if err := apps.DecodeEnvelope(c, "notification", &req); err != nil {
			return err
		}
	}
	email, err := s.Preview(c.Request.Context(), apps.PrincipalOf(c).Store, kind, req.toInput())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"preview": previewJSON{Kind: string(kind), Subject: email.Subject, BodyHTML: email.HTML, BodyText: email.Text}})
	return nil
}
