package server

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/trt"
)

// healthz is liveness: the process serves HTTP.
func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz is readiness: 200 once the model is loaded and warmed, 503 (with the state and,
// after a failure, the reason) until then.
func (s *Server) readyz(c *gin.Context) {
	state, _, err := s.model.status()
	if state == stateReady {
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
		return
	}
	body := gin.H{"status": state}
	if err != nil {
		body["reason"] = err.Error()
	}
	c.JSON(http.StatusServiceUnavailable, body)
}

// health is GET /api/health: status, backend, model, uptime and GPUs.
func (s *Server) health(c *gin.Context) {
	state, seg, err := s.model.status()
	body := gin.H{
		"status":         map[bool]string{true: "ok", false: "degraded"}[state == stateReady],
		"model_state":    state,
		"uptime_seconds": time.Since(s.started).Round(time.Millisecond).Seconds(),
		"versions":       trt.Versions(),
		"gpu":            s.gpu.Read(),
	}
	if err != nil {
		body["reason"] = err.Error()
	}
	if seg != nil {
		m := seg.Manifest()
		body["backend"] = seg.Backend().String()
		body["model"] = gin.H{"name": m.Name, "version": m.Version, "file": m.File, "input": []int{m.Input.Width, m.Input.Height}}
	} else {
		body["backend"] = nil
		body["model"] = nil
	}
	if load, warm := s.model.timings(); load > 0 {
		body["load_ms"] = ms(load)
		body["warmup_ms"] = ms(warm)
	}
	c.JSON(http.StatusOK, body)
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
		"custom": gin.H{"material": "custom", "fields": []string{"custom_color", "glossiness", "metallic", "intensity"}}})
}

func (s *Server) cacheStats(c *gin.Context) { c.JSON(http.StatusOK, s.cache.stats()) }

// cacheClear is POST /api/cache/clear. With NAILTRT_ADMIN_TOKEN set it needs
// "Authorization: Bearer <token>" (401 without credentials, 403 with wrong ones); with
// no token configured only loopback clients may clear.
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
	} else if !isLoopback(c.Request.RemoteAddr) {
		_ = c.Error(newError(http.StatusForbidden, "forbidden", "no admin token is configured: cache clear is allowed from loopback only"))
		return
	}
	n := s.cache.clear()
	c.JSON(http.StatusOK, gin.H{"cleared": n})
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
