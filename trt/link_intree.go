//go:build !nailtrt_pkgconfig

package trt

// Inside this repository (the default) package trt links the runner make native built in
// build/native, and a binary also looks in lib/ beside itself (how a shipped binary
// carries the libraries). Code outside the repository builds with -tags
// nailtrt_pkgconfig against an installed runner instead (link_pkgconfig.go).

/*
#cgo CFLAGS: -I${SRCDIR}/../native/include
#cgo LDFLAGS: -L${SRCDIR}/../build/native/lib -lnailtrt -Wl,-rpath,${SRCDIR}/../build/native/lib -Wl,-rpath,$ORIGIN/lib
*/
import "C"
