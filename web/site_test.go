package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPageAndAssets(t *testing.T) {
	s, err := New()
	require.NoError(t, err)

	page := get(t, s, "/")
	require.Equal(t, http.StatusOK, page.Code)
	assert.Equal(t, "text/html; charset=utf-8", page.Header().Get("Content-Type"))
	assert.Equal(t, "no-cache", page.Header().Get("Cache-Control"), "the page names asset versions: always revalidated")
	assert.Contains(t, page.Header().Get("Content-Security-Policy"), "default-src 'self'")
	assert.Equal(t, "nosniff", page.Header().Get("X-Content-Type-Options"))
	assert.NotContains(t, page.Body.String(), "{{v}}")

	// Every asset the page names exists, with the current version and its content type.
	refs := regexp.MustCompile(`(?:href|src)="(/ui/[^"?]+)\?v=([0-9a-f]+)"`).FindAllStringSubmatch(page.Body.String(), -1)
	require.Len(t, refs, 2, "style.css and app.js")
	want := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
	for _, r := range refs {
		assert.Equal(t, s.Version(), r[2])
		rec := get(t, s, r[1]+"?v="+r[2])
		require.Equal(t, http.StatusOK, rec.Code, r[1])
		ext := r[1][strings.LastIndex(r[1], "."):]
		assert.Equal(t, want[ext], rec.Header().Get("Content-Type"), r[1])
		assert.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"), r[1])
		// An old or missing version must not be cached for long: it may name other bytes.
		assert.Equal(t, "no-cache", get(t, s, r[1]+"?v=old").Header().Get("Cache-Control"))
		assert.Equal(t, "no-cache", get(t, s, r[1]).Header().Get("Cache-Control"))
	}
	// Modules imported by app.js are served as JavaScript too (browsers refuse others).
	for _, m := range []string{"api.js", "photo.js", "live.js", "paint.js"} {
		assert.Equal(t, "text/javascript; charset=utf-8", get(t, s, "/ui/"+m).Header().Get("Content-Type"), m)
	}
}

func TestRevalidationAnswers304(t *testing.T) {
	s, err := New()
	require.NoError(t, err)
	for _, path := range []string{"/", "/ui/app.js"} {
		first := get(t, s, path)
		etag := first.Header().Get("ETag")
		require.NotEmpty(t, etag, path)
		again := get(t, s, path, "If-None-Match", etag)
		assert.Equal(t, http.StatusNotModified, again.Code, path)
		assert.Empty(t, again.Body.Bytes(), path)
		assert.Equal(t, http.StatusOK, get(t, s, path, "If-None-Match", `"other"`).Code, path)
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	s, err := New()
	require.NoError(t, err)
	for _, path := range []string{"/ui/", "/ui/nope.js", "/ui/../site.go", "/static/app.js", "/other"} {
		assert.Equal(t, http.StatusNotFound, get(t, s, path).Code, path)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
}

// The page's weight target: everything it loads together stays under 150 KB.
func TestPageWeight(t *testing.T) {
	s, err := New()
	require.NoError(t, err)
	t.Logf("page weight: %d bytes", s.Bytes())
	assert.Less(t, s.Bytes(), 150_000)
}

// No asset may reach another site: the page must work offline and leak nothing.
func TestNoExternalReferences(t *testing.T) {
	s, err := New()
	require.NoError(t, err)
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for name, a := range s.assets {
		assert.Empty(t, external.FindAllString(string(a.body), -1), name)
	}
	assert.Empty(t, external.FindAllString(string(s.index.body), -1), "index.html")
}
