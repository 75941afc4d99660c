package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/trt"
)

func runBuildEngine(args []string) error {
	f := newFlags("build-engine", "")
	m := addModelFlags(f)
	fp32 := f.Bool("fp32", "NAILTRT_FP32", false, "build FP32 kernels only (default allows FP16 where the GPU has it)")
	maxBatch := f.Int("max-batch", "NAILTRT_MAX_BATCH", 8, "largest batch of the optimisation profile")
	if err := f.parse(args); err != nil {
		return err
	}
	src := resolveModel(*m.model)
	if strings.HasSuffix(src, ".json") {
		man, err := nails.LoadManifest(src)
		if err != nil {
			return err
		}
		src = man.ModelPath()
	}
	if *m.cacheDir == "" {
		return fmt.Errorf("--cache-dir is empty: the plan has nowhere to go")
	}
	if _, err := trt.Probe(trt.TensorRT); err != nil {
		return fmt.Errorf("cannot build a TensorRT plan here: %w", err)
	}
	e, err := trt.Open(src, trt.Options{Backend: trt.TensorRT, CacheDir: *m.cacheDir, Device: *m.dev, FP32: *fp32, MaxBatch: *maxBatch})
	if err != nil {
		return err
	}
	defer e.Close()
	fmt.Fprintf(os.Stderr, "plan for %s is in %s\n", src, *m.cacheDir)
	return nil
}
