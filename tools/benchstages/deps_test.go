package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// go-nvml's cgo prints ~150 lines of deprecation warnings when it compiles, and
// `go run ./tools/benchstages` compiled it through the server until NVML moved behind
// server/nvmlgpu (issue 33): the stage benchmark must not depend on it again.
func TestNoNVMLDependency(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, pkg := range strings.Fields(string(out)) {
		require.NotContains(t, pkg, "go-nvml", "tools/benchstages depends on %s", pkg)
	}
}
