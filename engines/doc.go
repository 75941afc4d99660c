// Package engines is the bundled model, built into every program that imports
// nails/segment: segment.Open with no Config.Model runs it from any directory, and a
// `go install`ed binary needs no file beside it. README.md here is its model card. It
// holds files only and imports no other nailtrt package.
package engines
