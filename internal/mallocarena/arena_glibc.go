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

// ReturnLarge makes glibc serve every allocation of n bytes or more with its own mmap,
// given back to the OS when freed, unless MALLOC_MMAP_THRESHOLD_ is set. glibc's default
// threshold moves: once a large block is freed, blocks up to its size come from the
// arenas instead and stay resident after free. libjpeg-turbo's buffers for a 12 MP
// photo are tens of MiB, so a few renders at once left their peak resident for good.
// It reports whether the threshold was applied.
func ReturnLarge(n int) bool {
	if _, set := os.LookupEnv("MALLOC_MMAP_THRESHOLD_"); set || n <= 0 {
		return false
	}
	return C.mallopt(C.M_MMAP_THRESHOLD, C.int(n)) == 1
}
