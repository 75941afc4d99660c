//go:build linux && cgo

package mallocarena

/*
#include <malloc.h>
*/
import "C"

import "os"

// Limit caps glibc's malloc arenas at n, unless MALLOC_ARENA_MAX is set (glibc reads
// it itself). It reports whether the cap was applied.
func Limit(n int) bool {
	if _, set := os.LookupEnv("MALLOC_ARENA_MAX"); set || n <= 0 {
		return false
	}
	return C.mallopt(C.M_ARENA_MAX, C.int(n)) == 1
}
