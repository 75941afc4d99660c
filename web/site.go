package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// csp allows the page its own origin only. blob: and data: carry the painted photo and
// the label masks the page decodes; mediastream: is the camera.
const csp = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; " +
	"connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Site serves the page. Assets are read from the binary once, at New.
type Site struct {
	index   asset
	assets  map[string]asset // by name under static/
	version string           // hash of every asset: index.html's ?v=
}

// New loads the embedded page.
func New() (*Site, error) {
	s := &Site{assets: map[string]asset{}}
	all := sha256.New()
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "static/index.html" {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		s.assets[name] = newAsset(b, name)
		all.Write([]byte(name))
		all.Write(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.version = hex.EncodeToString(all.Sum(nil))[:12]
	html, err := static.ReadFile("static/index.html")
	if err != nil {
		return nil, err
	}
	s.index = newAsset(bytes.ReplaceAll(html, []byte("{{v}}"), []byte(s.version)), "index.html")
	return s, nil
}

func newAsset(b []byte, name string) asset {
	sum := sha256.Sum256(b)
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // the system's mime table may lack or differ on these
	case ".js", ".mjs":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	return asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// Version is the content hash the page's asset URLs carry.
func (s *Site) Version() string { return s.version }

// Bytes is the size of the page and every asset together (the page weight).
func (s *Site) Bytes() int {
	n := len(s.index.body)
	for _, a := range s.assets {
		n += len(a.body)
	}
	return n
}

// ServeHTTP answers GET/HEAD "/" and "/ui/<asset>"; anything else is 404.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	var a asset
	switch name, isAsset := strings.CutPrefix(r.URL.Path, "/ui/"); {
	case r.URL.Path == "/" || r.URL.Path == "/index.html":
		a = s.index
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		// The page names the current asset versions: always revalidate it (cheap, 304).
		h.Set("Cache-Control", "no-cache")
	case isAsset:
		var ok bool
		if a, ok = s.assets[name]; !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == s.version {
			// A versioned URL never changes content: a new binary gives new URLs.
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
	default:
		http.NotFound(w, r)
		return
	}
	// ServeContent answers If-None-Match from this ETag (304), ranges and HEAD.
	h.Set("ETag", a.etag)
	h.Set("Content-Type", a.contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
