package mallocarena

import (
	"runtime"
	"testing"
)

func TestLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("glibc only")
	}
	t.Setenv("MALLOC_ARENA_MAX", "3")
	if Limit(2) {
		t.Fatal("MALLOC_ARENA_MAX set: glibc's own setting wins")
	}
}

func TestLimitApplies(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("glibc only")
	}
	if !Limit(2) {
		t.Fatal("mallopt(M_ARENA_MAX) refused")
	}
}

func TestReturnLarge(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("glibc only")
	}
	t.Setenv("MALLOC_MMAP_THRESHOLD_", "4096")
	if ReturnLarge(1 << 20) {
		t.Fatal("MALLOC_MMAP_THRESHOLD_ set: glibc's own setting wins")
	}
}

func TestReturnLargeApplies(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("glibc only")
	}
	if !ReturnLarge(1 << 20) {
		t.Fatal("mallopt(M_MMAP_THRESHOLD) refused")
	}
	if ReturnLarge(0) {
		t.Fatal("a zero threshold is not applied")
	}
}
