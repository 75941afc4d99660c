package main

import (
	"fmt"
	"runtime/debug"

	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/trt"
)

// runVersion prints what a bug report needs: this build (module version or VCS
// revision), the bundled model, and the native runner and its libraries.
func runVersion(args []string) error {
	f := newFlags("version", "")
	if err := f.parse(args); err != nil {
		return err
	}
	fmt.Println("nailtrt", buildVersion())
	model := "unreadable"
	if m, _, err := segment.LoadModel(""); err == nil {
		model = m.ID()
	}
	fmt.Println("bundled model:", model)
	fmt.Println("libraries:", trt.Versions())
	return nil
}

// buildVersion is the module's version when installed from a tag, else the VCS
// revision the binary was built from (with "+dirty" for uncommitted changes).
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown build)"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" && (v == "" || v == "(devel)") {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return "devel " + rev + dirty
	}
	return v + " " + bi.GoVersion
}
