package server

import (
	_ "embed"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nailtrt/nailtrt/web"
)

// openAPI documents every route; TestOpenAPIDocumentsEveryRoute holds it to the table below.
//
//go:embed openapi.json
var openAPI []byte

func init() { gin.SetMode(gin.ReleaseMode) }

// routes builds the handler: explicit middleware, outermost first.
func (s *Server) routes() http.Handler {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		// Validate (called by New and by serve) has said why; trust no proxy rather
		// than some of them.
		_ = r.SetTrustedProxies(nil)
	}
	// Forms are read by readMultipart (upload.go), in memory, never by gin's parser,
	// which would write large files to $TMPDIR.
	r.Use(recovery(s.log), requestID(), accessLog(s.log), s.metrics.middleware(), cors(s.cfg.CORSOrigins),
		linger(max(4*s.cfg.MaxBodyBytes, 64<<20), 10*time.Second), errorMiddleware(s.log), probesOnlyPastCap())

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPI) })
	if !s.cfg.DisableUI {
		if site, err := web.New(); err != nil {
			s.log.Error("the try-on page is off: its embedded assets cannot be read", "err", err)
		} else {
			r.GET("/", gin.WrapH(site))
			r.GET("/ui/*file", gin.WrapH(site))
		}
	}

	api := r.Group("/api")
	api.GET("/health", s.health)
	api.GET("/materials", s.materials)
	api.GET("/cache/stats", s.cacheStats)
	api.POST("/cache/clear", s.cacheClear)
	api.POST("/nails/segment", s.segment)
	api.POST("/nails/render", s.render)
	api.POST("/nails/render-professional", s.render) // the Python app's name for it

	r.NoRoute(func(c *gin.Context) {
		_ = c.Error(newError(http.StatusNotFound, "not_found", "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		_ = c.Error(newError(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	return r
}
