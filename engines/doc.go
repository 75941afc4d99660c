// Package engines is the bundled models, built into every program that imports
// nails/segment: segment.Open with no Config.Model runs the photo model (nailseg) from
// any directory, "builtin:nailseg-live" the live one, and a `go install`ed binary needs
// no file beside it. README.md here is their model card. It holds files only and imports
// no other nailtrt package.
package engines
