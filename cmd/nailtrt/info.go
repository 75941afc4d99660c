package main

import (
	"fmt"
	"os"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/server"
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
	gpus := server.NewGPUMonitor(nvml.New())
	defer gpus.Close()
	h := gpus.Read()
	if !h.Available {
		fmt.Println("gpus: none:", h.Reason)
	}
	for _, d := range h.Devices {
		fmt.Printf("gpu %d: %s, memory %d/%d MiB used\n", d.Index, d.Name, d.MemoryUsed>>20, d.MemoryTotal>>20)
	}
	path := resolveModel(m.Model)
	man, err := nails.LoadManifest(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "model: %v\n", err)
		return nil
	}
	backend, err := trt.ParseBackend(m.Backend)
	if err != nil {
		return err
	}
	e, err := trt.Open(man.ModelPath(), trt.Options{Backend: backend, CacheDir: m.CacheDir, IntraOpThreads: 1})
	if err != nil {
		return fmt.Errorf("model %s: %w", path, err)
	}
	defer e.Close()
	fmt.Printf("model %s (%s, %s) on %s:\n", man.ID(), man.ModelPath(), man.Output.Format, e.Backend())
	for _, t := range e.Tensors() {
		fmt.Printf("  %s\n", t)
	}
	return nil
}
