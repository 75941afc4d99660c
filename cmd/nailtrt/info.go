package main

import (
	"fmt"
	"strings"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/server/nvmlgpu"
	"github.com/nailtrt/nailtrt/trt"
)

func runInfo(args []string) error {
	f := newFlags("info", "")
	m := addModelFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	fmt.Println("libraries:", trt.Versions())
	fmt.Println("backends:")
	for _, b := range []trt.Backend{trt.ONNXRuntime, trt.TensorRT, trt.Auto} {
		r, err := trt.Probe(b)
		switch {
		case err != nil:
			fmt.Printf("  %-12s unavailable: %v\n", b, err)
		case b == trt.Auto:
			fmt.Printf("  %-12s -> %s\n", b, r)
		default:
			fmt.Printf("  %-12s available\n", b)
		}
	}
	gpus := nvmlgpu.New()
	defer gpus.Close()
	h := gpus.Read()
	if !h.Available {
		fmt.Println("gpus: none:", h.Reason)
	}
	for _, d := range h.Devices {
		fmt.Printf("gpu %d: %s, memory %d/%d MiB used\n", d.Index, d.Name, d.MemoryUsed>>20, d.MemoryTotal>>20)
	}
	man, e, err := openModelEngine(resolveModel(m.Model), m.Backend, m.CacheDir)
	if err != nil {
		return err
	}
	defer e.Close()
	where := man.ModelPath()
	if m.Model == "" || strings.HasPrefix(m.Model, segment.BuiltinPrefix) {
		where = "bundled, built into this binary"
	}
	fmt.Printf("model %s (%s, %s) on %s:\n", man.ID(), where, man.Output.Format, e.Backend())
	for _, t := range e.Tensors() {
		fmt.Printf("  %s\n", t)
	}
	return nil
}

// openModelEngine opens the model a manifest path names ("" = the bundled model, read
// as segment.Open reads it) on the backend, for commands that look at the model itself.
func openModelEngine(path, backendName, cacheDir string) (*nails.Manifest, *trt.Engine, error) {
	backend, err := trt.ParseBackend(backendName)
	if err != nil {
		return nil, nil, err
	}
	if path == "" {
		path = segment.DefaultModel(backendName) // as segment.Open chooses it
	}
	name := path
	man, bundled, err := segment.LoadModel(path)
	if err != nil {
		return nil, nil, fmt.Errorf("model: %w", err)
	}
	opts := trt.Options{Backend: backend, CacheDir: cacheDir, IntraOpThreads: 1}
	var e *trt.Engine
	if bundled != nil {
		e, err = trt.OpenBytes(bundled, opts)
	} else {
		e, err = trt.Open(man.ModelPath(), opts)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return man, e, nil
}
