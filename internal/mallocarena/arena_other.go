//go:build !(linux && cgo)

package mallocarena

// Limit does nothing where the C library is not glibc's.
func Limit(int) bool { return false }

// ReturnLarge does nothing where the C library is not glibc's.
func ReturnLarge(int) bool { return false }
