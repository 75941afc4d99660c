package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/trt"
)

func runBuildEngine(args []string) error {
	f := newFlags("build-engine", "")
	m := addModelFlags(f)
	fp32 := f.Bool("fp32", "NAILTRT_FP32", false, "build FP32 kernels only (default allows FP16 where the GPU has it)")
	if err := f.parse(args); err != nil {
		return err
	}
	src := resolveModel(m.Model)
	if strings.HasSuffix(src, ".json") {
		man, err := nails.LoadManifest(src)
		if err != nil {
			return err
		}
		src = man.ModelPath()
	}
	if m.CacheDir == "" {
		return fmt.Errorf("--cache-dir is empty: the plan has nowhere to go")
	}
	if _, err := trt.Probe(trt.TensorRT); err != nil {
		return fmt.Errorf("cannot build a TensorRT plan here: %w", err)
	}
	// The profile's largest batch is what serve's batching sends (--max-batch; automatic
	// is segment.DefaultGPUBatch), so serve finds this plan in the cache.
	maxBatch := m.MaxBatch
	if maxBatch <= 0 {
		maxBatch = segment.DefaultGPUBatch
	}
	e, err := trt.Open(src, trt.Options{Backend: trt.TensorRT, CacheDir: m.CacheDir, Device: m.Device, FP32: *fp32, MaxBatch: maxBatch})
	if err != nil {
		return err
	}
	defer e.Close()
	fmt.Fprintf(os.Stderr, "plan for %s is in %s\n", src, m.CacheDir)
	return nil
}
