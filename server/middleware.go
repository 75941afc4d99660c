package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

const requestIDKey = "request_id"

// requestID takes X-Request-ID from the client (when sane) or makes one, and echoes it.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if id == "" || len(id) > 64 || strings.ContainsAny(id, "\r\n\t ") {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(requestIDKey, id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

// accessLog writes one structured line per request.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		t := time.Now()
		c.Next()
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelWarn
		}
		if c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/readyz" || c.Request.URL.Path == "/metrics" {
			level = slog.LevelDebug // probes every few seconds would drown the log
		}
		log.Log(c, level, "request", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "latency_ms", float64(time.Since(t).Microseconds())/1000,
			"bytes_out", c.Writer.Size(), "client", c.ClientIP(), "request_id", c.GetString(requestIDKey))
	}
}

// recovery turns a handler panic into a logged 500; the client sees no details.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic serving request", "panic", fmt.Sprint(r), "path", c.Request.URL.Path,
					"request_id", c.GetString(requestIDKey), "stack", string(debug.Stack()))
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": gin.H{"code": "internal", "message": "internal error"}})
			}
		}()
		c.Next()
	}
}

// cors lets browser pages on the configured origins call the API and read the headers
// the render route returns. "*" allows every origin.
func cors(origins []string) gin.HandlerFunc {
	any := slices.Contains(origins, "*")
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || (!any && !slices.Contains(origins, origin)) {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "X-Nail-Count, X-Nail-Message, X-Material, X-Cache, X-Request-ID, Retry-After")
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Request-ID")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

// bodyKey holds the request's original body (before http.MaxBytesReader) for linger.
const bodyKey = "raw_body"

// linger drains what is left of an upload the server refused without reading it all (a
// 413, or a 503 when the upload budget is full) after the answer has been written,
// bounded in bytes and time, as nginx's lingering close does. Clients that send the
// whole body before reading (Python's requests and urllib) would otherwise see the
// connection reset under them instead of the JSON error.
func linger(maxBytes int64, maxTime time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength == 0 || c.Request.ProtoMajor != 1 {
			c.Next()
			return
		}
		// The server would otherwise discard unread body before writing the response,
		// and give up (closing the connection) after 256 KB.
		rc := http.NewResponseController(c.Writer)
		_ = rc.EnableFullDuplex()
		c.Next()
		body, ok := c.Get(bodyKey)
		if st := c.Writer.Status(); !ok || (st != http.StatusRequestEntityTooLarge && st != http.StatusServiceUnavailable) {
			return
		}
		_ = rc.Flush()
		_ = rc.SetReadDeadline(time.Now().Add(maxTime))
		_, _ = io.CopyN(io.Discard, body.(io.Reader), maxBytes)
	}
}
