//go:build nailtrt_pkgconfig

package trt

// With -tags nailtrt_pkgconfig, package trt links the runner installed by
// make install PREFIX=... through its pkg-config file (set PKG_CONFIG_PATH to
// $PREFIX/lib/pkgconfig): how a Go module outside this repository uses it
// (DEVELOPERS.md, "Using nailtrt from another Go module").

// #cgo pkg-config: nailtrt
import "C"
