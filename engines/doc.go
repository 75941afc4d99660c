// Package engines is the bundled models, built into every program that imports
// nails/segment: segment.Open with no Config.Model runs the photo model from any
// directory (nailseg-int8 on a CPU with VNNI, else the float nailseg:
// segment.DefaultModel), "builtin:nailseg-live" the live one, and a `go install`ed binary needs
// no file beside it. README.md here is their model card. It holds files only and imports
// no other nailtrt package.
package engines
