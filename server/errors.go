package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/nailtrt/nailtrt/nails"
)

// apiError is an error with its HTTP status and a stable machine-readable code.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int // seconds; sets Retry-After when > 0
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// classify maps any error to an apiError. Errors it does not know become a 500 whose
// details are logged, never shown.
func classify(err error) *apiError {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return newError(http.StatusRequestEntityTooLarge, "too_large", "request body exceeds %d bytes (NAILTRT_MAX_BODY_BYTES)", mbe.Limit)
	case errors.Is(err, nails.ErrEmpty):
		return newError(http.StatusBadRequest, "empty_image", "%v", err)
	case errors.Is(err, nails.ErrUnsupportedFormat):
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "%v", err)
	case errors.Is(err, nails.ErrTooLarge), errors.Is(err, errNeverFits):
		return newError(http.StatusUnprocessableEntity, "image_too_large",
			"%v (limits: NAILTRT_MAX_PIXELS, NAILTRT_MAX_SIDE, NAILTRT_MAX_SCANS, NAILTRT_MEMORY_BUDGET)", err)
	case errors.Is(err, nails.ErrTooSmall):
		return newError(http.StatusUnprocessableEntity, "image_too_small", "%v (NAILTRT_MIN_SIDE)", err)
	case errors.Is(err, nails.ErrUndecodable):
		// The decoder's own words (library messages) stay in the log.
		return newError(http.StatusUnprocessableEntity, "undecodable_image", "the image is corrupt or truncated and cannot be decoded")
	case errors.Is(err, nails.ErrBadMaterial), errors.Is(err, nails.ErrUnknownMaterial):
		return newError(http.StatusBadRequest, "bad_material", "%v", err)
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "the request timed out waiting for an inference", RetryAfter: 1}
	case errors.Is(err, context.Canceled):
		return newError(499, "client_closed", "the client went away")
	case errors.Is(err, nails.ErrUnavailable):
		return newError(http.StatusServiceUnavailable, "model_unavailable", "the inference backend is unavailable; see the server log")
	}
	return newError(http.StatusInternalServerError, "internal", "internal error")
}

// errorMiddleware renders the first error a handler recorded with c.Error, once, as
// {"error":{"code","message"}}. Handlers never write error bodies themselves.
func errorMiddleware(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		err := c.Errors[0].Err
		ae := classify(err)
		switch {
		case ae.Status >= 500 && ae.Code == "internal", ae.Code == "model_unavailable":
			log.Error("request failed", "path", c.FullPath(), "request_id", c.GetString(requestIDKey), "err", err)
		case ae.Code == "undecodable_image":
			log.Debug("undecodable image", "path", c.FullPath(), "request_id", c.GetString(requestIDKey), "err", err)
		}
		if ae.RetryAfter > 0 {
			c.Header("Retry-After", fmt.Sprint(ae.RetryAfter))
		}
		// PureJSON: messages such as "Bearer <admin token>" read as written, not \u003c.
		c.PureJSON(ae.Status, gin.H{"error": gin.H{"code": ae.Code, "message": ae.Message}})
	}
}
