package apps

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// openAPIYAML describes every Admin API resource; a test holds the routes and
// real responses to it.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPI returns the Admin API's OpenAPI 3 document.
func OpenAPI() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	return doc, nil
}

// openAPIJSON is the document as served, made on first request.
var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

func (g *Gate) serveOpenAPI(c *gin.Context) {
	b, err := openAPIJSON()
	if err != nil {
		Abort(c, g.log, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", b)
}
