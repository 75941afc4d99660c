package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// TestOpenAPIDocumentsEveryRoute holds /openapi.json to the router: a route added without
// documenting it, or a documented route that does not exist, fails here.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	s := newTestServer(t, Config{Lazy: true}, nil)
	rec := do(t, s, http.MethodGet, "/openapi.json", nil, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3."), doc.OpenAPI)

	var routed, documented []string
	for _, r := range s.handler.(*gin.Engine).Routes() {
		routed = append(routed, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(routed)
	sort.Strings(documented)
	assert.Equal(t, routed, documented, "routes and /openapi.json disagree")
}

func TestUICanBeTurnedOff(t *testing.T) {
	on := newTestServer(t, Config{Lazy: true}, nil)
	rec := do(t, on, http.MethodGet, "/", nil, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "<!doctype html>")
	assert.Equal(t, http.StatusOK, do(t, on, http.MethodGet, "/ui/app.js", nil, "").Code)

	off := newTestServer(t, Config{Lazy: true, DisableUI: true}, nil)
	for _, path := range []string{"/", "/ui/app.js"} {
		rec := do(t, off, http.MethodGet, path, nil, "")
		assert.Equal(t, http.StatusNotFound, rec.Code, path)
		assert.Equal(t, "not_found", decodeJSON[errorBody](t, rec).Error.Code)
	}
	assert.Equal(t, http.StatusOK, do(t, off, http.MethodGet, "/openapi.json", nil, "").Code, "the API document stays")
}
