package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Without a token, cache clear needs a loopback Host as well as a loopback peer: a page
// on rebind.example whose name is rebound to 127.0.0.1 sends from loopback, with its own
// name as Host and a matching Origin, and cleared the cache.
func TestCacheClearRefusesRebinding(t *testing.T) {
	noToken := newTestServer(t, Config{Lazy: true}, nil)
	withToken := newTestServer(t, Config{Lazy: true, AdminToken: "s3cret"}, nil)
	clear := func(s *Server, host string, header ...string) int {
		req := httptest.NewRequest("POST", "/api/cache/clear", nil)
		req.Host = host
		req.RemoteAddr = "127.0.0.1:5555"
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, tc := range []struct {
		host   string
		header []string
		want   int
	}{
		{"rebind.example", []string{"Origin", "http://rebind.example"}, http.StatusForbidden},
		{"rebind.example:8080", []string{"Origin", "http://rebind.example:8080", "Sec-Fetch-Site", "same-origin"}, http.StatusForbidden},
		{"rebind.example", nil, http.StatusForbidden},
		{"127.0.0.1.nip.io:8080", nil, http.StatusForbidden},
		{"localhost.rebind.example", nil, http.StatusForbidden},
		{"", nil, http.StatusForbidden},
		{"localhost:8080", []string{"Origin", "http://localhost:8080"}, http.StatusOK},
		{"LOCALHOST", nil, http.StatusOK},
		{"127.0.0.1:8080", nil, http.StatusOK},
		{"127.0.0.2", nil, http.StatusOK},
		{"[::1]:8080", nil, http.StatusOK},
		{"[::1]", nil, http.StatusOK},
	} {
		assert.Equal(t, tc.want, clear(noToken, tc.host, tc.header...), "Host %q %v", tc.host, tc.header)
	}
	// The token is the credential: its holder may use any name.
	assert.Equal(t, http.StatusOK, clear(withToken, "nailtrt.internal:8080", "Authorization", "Bearer s3cret"))
}
