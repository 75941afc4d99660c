// Command parity checks an exported ONNX model against PyTorch through the native
// runner: tools/train/export.py saves a fixed input and PyTorch's output for it, and this
// runs the same input through nailtrt and reports the largest absolute difference.
//
//	go run ./tools/parity --dir build/train/parity
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/nailtrt/nailtrt/trt"
)

type meta struct {
	Model       string    `json:"model"`
	InputShape  trt.Shape `json:"input_shape"`
	OutputShape trt.Shape `json:"output_shape"`
	MaxAbsDiff  float64   `json:"max_abs_diff"`
}

func main() {
	dir := flag.String("dir", "build/train/parity", "folder with meta.json, input.f32, output.f32")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		os.Exit(1)
	}
}

func readF32(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

func run(dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return err
	}
	var m meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	in, err := readF32(filepath.Join(dir, "input.f32"))
	if err != nil {
		return err
	}
	want, err := readF32(filepath.Join(dir, "output.f32"))
	if err != nil {
		return err
	}
	e, err := trt.Open(m.Model, trt.Options{Backend: trt.ONNXRuntime})
	if err != nil {
		return err
	}
	defer e.Close()
	shapes, err := e.OutputShapes(map[string]trt.Shape{e.Inputs()[0].Name: m.InputShape})
	if err != nil {
		return err
	}
	shapes[e.Inputs()[0].Name] = m.InputShape
	p, err := trt.NewPool(e, trt.PoolOptions{MaxShapes: shapes})
	if err != nil {
		return err
	}
	defer p.Close()
	s, err := p.Acquire(context.Background())
	if err != nil {
		return err
	}
	defer p.Release(s)
	x, err := s.Float32s(0)
	if err != nil {
		return err
	}
	copy(x, in)
	if err := s.SetInputShape(0, m.InputShape); err != nil {
		return err
	}
	if err := s.Run(context.Background()); err != nil {
		return err
	}
	out := e.Outputs()[0]
	y, err := s.Float32s(out.Index)
	if err != nil {
		return err
	}
	if len(y) < len(want) {
		return fmt.Errorf("runner output has %d values, PyTorch %d", len(y), len(want))
	}
	var worst float64
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(y[i]-want[i])))
	}
	fmt.Printf("parity: %s: max |nailtrt - PyTorch| = %.2e over %d values (limit %.0e)\n", m.Model, worst, len(want), m.MaxAbsDiff)
	if worst > m.MaxAbsDiff {
		return fmt.Errorf("difference %.2e exceeds %.0e", worst, m.MaxAbsDiff)
	}
	return nil
}
