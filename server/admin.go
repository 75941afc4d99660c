package server

import (
	"crypto/subtle"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nailtrt/nailtrt/nails"
)

// healthz is liveness: 200 while the process serves HTTP and its model is loaded,
// loading or retrying; 503 once every load attempt has failed, so an orchestrator
// restarts a replica that cannot recover by itself.
func (s *Server) healthz(c *gin.Context) {
	for _, m := range s.models() {
		if state, _, err := m.status(); state == stateFailed && err != errClosed {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "failed", "reason": "a model could not be loaded; see the server log"})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz is readiness: 200 once the models are loaded and warmed, 503 (with the state of
// the first that is not) until then.
func (s *Server) readyz(c *gin.Context) {
	state := s.state()
	if state == stateReady {
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
		return
	}
	// The reason (paths, library messages) is logged, not shown to anyone who asks.
	c.JSON(http.StatusServiceUnavailable, gin.H{"status": state})
}

// health is GET /api/health: status, backend, model, uptime and GPUs.
func (s *Server) health(c *gin.Context) {
	state, seg, err := s.model.status()
	body := gin.H{
		"status":         map[bool]string{true: "ok", false: "degraded"}[state == stateReady],
		"model_state":    state,
		"uptime_seconds": time.Since(s.started).Round(time.Millisecond).Seconds(),
		"versions":       s.versions,
		"gpu":            s.gpu.Read(),
	}
	if err != nil {
		body["reason"] = "the model could not be loaded; see the server log"
	}
	if seg != nil {
		body["backend"] = seg.Backend()
		if b := seg.BatchStats(); b.MaxImages > 0 {
			body["batching"] = gin.H{"max_images": b.MaxImages, "runs": b.Runs, "requests": b.Requests}
		}
		body["model"] = modelJSON(seg.Manifest())
	} else {
		body["backend"] = nil
		body["model"] = nil
	}
	// The live model (?model=live): null when there is none (the photo model answers).
	body["live_model"] = nil
	if s.live != nil {
		state, seg, err := s.live.status()
		live := gin.H{"state": state}
		if seg != nil {
			maps.Copy(live, modelJSON(seg.Manifest()))
		}
		if err != nil && err != errClosed {
			body["status"] = "degraded"
			live["reason"] = "the live model could not be loaded; see the server log"
		}
		body["live_model"] = live
	}
	if load, warm := s.model.timings(); load > 0 {
		body["load_ms"] = ms(load)
		body["warmup_ms"] = ms(warm)
	}
	c.JSON(http.StatusOK, body)
}

// modelJSON is how /api/health describes a model.
func modelJSON(m *nails.Manifest) gin.H {
	return gin.H{"name": m.Name, "version": m.Version, "file": m.File, "input": []int{m.Input.Width, m.Input.Height}}
}

type materialJSON struct {
	Name     string  `json:"name"`
	Color    string  `json:"color"`
	Finish   string  `json:"finish"`
	Opacity  float64 `json:"opacity"`
	TipColor string  `json:"tip_color,omitempty"`
}

// materials is GET /api/materials.
func (s *Server) materials(c *gin.Context) {
	var out []materialJSON
	for _, m := range nails.Presets() {
		out = append(out, materialJSON{m.Name, m.Color, string(m.Finish), m.Opacity, m.TipColor})
	}
	finishes := make([]string, len(nails.Finishes))
	for i, f := range nails.Finishes {
		finishes[i] = string(f)
	}
	c.JSON(http.StatusOK, gin.H{"materials": out, "finishes": finishes,
		"custom": gin.H{"material": "custom", "fields": []string{"custom_color", "finish", "glossiness", "metallic", "intensity"}}})
}

func (s *Server) cacheStats(c *gin.Context) { c.JSON(http.StatusOK, s.cache.stats()) }

// cacheClear is POST /api/cache/clear. With NAILTRT_ADMIN_TOKEN set it needs
// "Authorization: Bearer <token>" (401 without credentials, 403 with wrong ones); with
// no token configured only loopback clients that address the server by a loopback name
// may clear.
func (s *Server) cacheClear(c *gin.Context) {
	if s.cfg.AdminToken != "" {
		auth := c.GetHeader("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if auth == "" || !ok {
			c.Header("WWW-Authenticate", `Bearer realm="nailtrt"`)
			_ = c.Error(newError(http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <admin token>"))
			return
		}
		if subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) != 1 {
			_ = c.Error(newError(http.StatusForbidden, "forbidden", "wrong admin token"))
			return
		}
	} else if !isLoopback(c.Request.RemoteAddr) || proxied(c.Request) {
		_ = c.Error(newError(http.StatusForbidden, "forbidden", "no admin token is configured (NAILTRT_ADMIN_TOKEN): cache clear is allowed from loopback only, not through a proxy"))
		return
	} else if !loopbackHost(c.Request.Host) {
		// DNS rebinding: a page on rebind.example whose name now resolves to 127.0.0.1
		// sends from loopback, with its own name as Host and a matching Origin.
		_ = c.Error(newError(http.StatusForbidden, "forbidden", "no admin token is configured (NAILTRT_ADMIN_TOKEN): cache clear must be addressed to localhost or a loopback IP"))
		return
	}
	if !sameOrigin(c.Request) {
		// A page on another site can make the browser POST here (a form needs no CORS
		// preflight); the browser says where it came from.
		_ = c.Error(newError(http.StatusForbidden, "forbidden", "cross-origin cache clear refused"))
		return
	}
	var modelIDs []string
	for _, m := range s.models() {
		if _, seg, _ := m.status(); seg != nil {
			modelIDs = append(modelIDs, seg.Manifest().CacheID())
		}
	}
	local, shared, err := s.cache.clear(modelIDs...)
	body := gin.H{"cleared": local}
	if s.cache.shared != nil {
		body["shared_cleared"] = shared // these models' values in Redis; -1: no model loaded yet
	}
	if err != nil {
		body["shared_error"] = "the shared cache (redis) could not be cleared; see the server log"
		s.log.Warn("shared cache clear failed", "err", err)
	}
	c.JSON(http.StatusOK, body)
}

// isLoopback looks at the TCP peer only: X-Forwarded-For is not trusted for admin access.
func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports a Host header that names this machine whatever DNS says:
// localhost or a loopback IP, with or without a port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())
}

// proxied reports a request relayed by a proxy: a loopback peer that forwards for
// someone else is not a local administrator.
func proxied(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "Via"} {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

// sameOrigin is true without an Origin header (curl, scripts) or when it names this host.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}
