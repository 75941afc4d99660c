// Package web is the try-on page nailtrt serves at GET /: plain HTML, CSS and ES modules
// embedded in the binary (no CDN, no build step, no request to any other site).
//
//	site.go          the http.Handler: "/" and "/ui/<asset>", content types, ETags and
//	                 cache headers, a strict Content-Security-Policy
//	static/          the page itself:
//	  index.html     markup; asset URLs carry a content hash (?v=) filled in at start
//	  app.js         wiring: tabs, controls, errors
//	  api.js         the HTTP API (render, segment, materials) and errors people can act on
//	  photo.js       photo mode: upload/drop/paste, before/after, outlines, download
//	  live.js        live mode: webcam frames -> ?mask=png&model=live -> painted on a canvas here
//	  paint.js       client-side polish that keeps the photo's shading (live mode)
//	  style.css      layout for desktop and phone-sized screens
//
// The browser tests (browser_test.go, e2e/tryon.mjs) drive the page in headless Chromium
// through playwright-core; `make test` installs both.
package web
