package trt_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/trt"
	"github.com/nailtrt/nailtrt/trt/internal/ortbare"
)

// BenchmarkRunOverhead measures what nailtrt adds per call: the same tiny model (y=2x+1
// over [1,4]) run through the ONNX Runtime C API directly and through Context.Run.
// Report the difference of the two medians, and allocs/op of context-run (must be 0).
func BenchmarkRunOverhead(b *testing.B) {
	b.Run("ort-bare", func(b *testing.B) {
		s, err := ortbare.Open(fixture("affine.onnx"), []int64{1, 4}, 1)
		require.NoError(b, err)
		defer s.Close()
		s.Input()[0] = 1
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Run(); err != nil {
				b.Fatal(err)
			}
		}
		if s.Output()[0] != 3 {
			b.Fatalf("bare output %v", s.Output()[0])
		}
	})
	b.Run("context-run", func(b *testing.B) {
		e := openCPU(b, "affine.onnx")
		p := newPool(b, e, trt.PoolOptions{})
		s, err := p.Acquire(context.Background())
		require.NoError(b, err)
		defer p.Release(s)
		x, _ := s.Float32s(0)
		x[0] = 1
		ctx := context.Background()
		shape := trt.Shape{1, 4}
		b.ReportAllocs()
		for b.Loop() {
			if err := s.SetInputShape(0, shape); err != nil {
				b.Fatal(err)
			}
			if err := s.Run(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if y, _ := s.Float32s(1); y[0] != 3 {
			b.Fatalf("output %v", y[0])
		}
	})
}

// BenchmarkThroughput runs a conv model (~0.1 GFLOP a sample) from as many goroutines
// as the pool has contexts. ns/op is per inference across all contexts, so a lower
// figure with more contexts means throughput scales.
func BenchmarkThroughput(b *testing.B) {
	for _, cfg := range []struct{ contexts, threads int }{{1, 1}, {1, 2}, {2, 1}} {
		b.Run(fmt.Sprintf("contexts=%d/threads=%d", cfg.contexts, cfg.threads), func(b *testing.B) {
			e, err := trt.Open(fixture("conv.onnx"), trt.Options{Backend: trt.ONNXRuntime, IntraOpThreads: cfg.threads})
			require.NoError(b, err)
			defer e.Close()
			p, err := trt.NewPool(e, trt.PoolOptions{Size: cfg.contexts, MaxBatch: 1})
			require.NoError(b, err)
			defer p.Close()
			var mu sync.Mutex
			left := b.N
			take := func() bool {
				mu.Lock()
				defer mu.Unlock()
				left--
				return left >= 0
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for range cfg.contexts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for take() {
						s, err := p.Acquire(context.Background())
						if err != nil {
							b.Error(err)
							return
						}
						err = s.SetInputShape(0, trt.Shape{1, 3, 128, 128})
						if err == nil {
							err = s.Run(context.Background())
						}
						p.Release(s)
						if err != nil {
							b.Error(err) // a failing run must not count as an inference
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inferences/s")
		})
	}
}
