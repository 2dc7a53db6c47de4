package dashboard

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/tenant"
)

// Operator mounts h (a console of its own, such as asynqmon) under prefix
// on the dashboard host, for operators only: a visitor without a session is
// sent to log in, and an account isOperator does not name is refused. h's
// own scripts send no CSRF tokens, so its state-changing requests are held
// instead to the browser's word that they come from this origin
// (net/http's CrossOriginProtection: Sec-Fetch-Site, else Origin).
func (d *Dashboard) Operator(r gin.IRouter, prefix string, h http.Handler, isOperator func(context.Context, tenant.AccountID) (bool, error)) {
	guarded := http.NewCrossOriginProtection().Handler(h)
	serve := func(c *gin.Context) {
		ok, err := isOperator(c.Request.Context(), accountOf(c))
		if err != nil {
			d.failErr(c, err)
			return
		}
		if !ok {
			d.fail(c, http.StatusForbidden, "Not allowed", "The operator console is for the people who run this Storefleet fleet.")
			return
		}
		guarded.ServeHTTP(c.Writer, c.Request)
	}
	g := r.Group(prefix, d.noStore, d.session, d.requireLogin)
	g.Any("", serve)
	g.Any("/*path", serve)
}
