package testimg

import (
	"os"
	"path/filepath"
	"testing"
)

// Root is the repository's root folder (the nearest above the working directory that
// holds go.mod), so a test finds committed files wherever its package lives.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = up
	}
}

// DatasetDir is ../shared/datasets/nails beside the repository, or NAILTRT_DATASET; a
// test that needs it skips, saying so, where it is absent.
func DatasetDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("NAILTRT_DATASET")
	if dir == "" {
		dir = filepath.Join(Root(t), "..", "shared", "datasets", "nails")
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.csv")); err != nil {
		t.Skipf("dataset not found at %s (set NAILTRT_DATASET): %v", dir, err)
	}
	return dir
}

// BundledModel is the committed model manifest; tests that need it skip without it.
func BundledModel(t testing.TB) string { return CommittedModel(t, "nailseg.json") }

// CommittedModel is engines/<manifest>; tests that need it skip without it.
func CommittedModel(t testing.TB, manifest string) string {
	t.Helper()
	p := filepath.Join(Root(t), "engines", manifest)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("model %s not present: %v", p, err)
	}
	return p
}
