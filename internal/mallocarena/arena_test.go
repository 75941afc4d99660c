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
