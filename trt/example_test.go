package trt_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nailtrt/nailtrt/trt"
)

// Run any ONNX model: y = 2x + 1 over a dynamic batch.
func Example() {
	e, err := trt.Open("testdata/affine.onnx", trt.Options{Backend: trt.Auto})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	for _, t := range e.Tensors() {
		fmt.Println(t)
	}

	// A pool of ready contexts, each with buffers sized for batch 4.
	pool, err := trt.NewPool(e, trt.PoolOptions{Size: 2, MaxBatch: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	slot, err := pool.Acquire(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Release(slot)

	x, _ := slot.Float32s(0) // the runner's own (pinned) memory: no copies
	copy(x, []float32{0, 1, 2, 3, 4, 5, 6, 7})
	if err := slot.SetInputShape(0, trt.Shape{2, 4}); err != nil {
		log.Fatal(err)
	}
	if err := slot.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	y, _ := slot.Float32s(1)
	shape, _ := slot.OutputShape(1)
	fmt.Println(shape, y[:8])
	// Output:
	// input x float32[-1,4]
	// output y float32[-1,4]
	// [2,4] [1 3 5 7 9 11 13 15]
}
