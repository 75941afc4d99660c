package trt_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nailtrt/nailtrt/trt"
)

func fixture(name string) string { return filepath.Join("testdata", name) }

func openCPU(t testing.TB, name string) *trt.Engine {
	t.Helper()
	e, err := trt.Open(fixture(name), trt.Options{Backend: trt.ONNXRuntime, IntraOpThreads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, e.Close()) })
	return e
}

func newPool(t testing.TB, e *trt.Engine, o trt.PoolOptions) *trt.Pool {
	t.Helper()
	p, err := trt.NewPool(e, o)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

func TestIntrospection(t *testing.T) {
	e := openCPU(t, "two_outputs.onnx")
	assert.Equal(t, trt.ONNXRuntime, e.Backend())
	require.Len(t, e.Tensors(), 3)
	assert.Equal(t, trt.TensorDesc{Index: 0, Name: "x", Mode: trt.Input, DType: trt.Float32, Shape: trt.Shape{-1, 3}}, e.Tensors()[0])
	assert.Equal(t, trt.TensorDesc{Index: 1, Name: "doubled", Mode: trt.Output, DType: trt.Float32, Shape: trt.Shape{-1, 3}}, e.Tensors()[1])
	assert.Equal(t, trt.TensorDesc{Index: 2, Name: "total", Mode: trt.Output, DType: trt.Float32, Shape: trt.Shape{-1}}, e.Tensors()[2])
	assert.Len(t, e.Inputs(), 1)
	assert.Len(t, e.Outputs(), 2)
	td, err := e.Tensor("total")
	require.NoError(t, err)
	assert.Equal(t, 2, td.Index)
	_, err = e.Tensor("nope")
	assert.ErrorIs(t, err, trt.ErrInvalidArgument)
	assert.Equal(t, "output total float32[-1]", td.String())

	ints := openCPU(t, "int_input.onnx")
	assert.Equal(t, trt.Int64, ints.Tensors()[0].DType)
}

func TestAffineDynamicBatch(t *testing.T) {
	e := openCPU(t, "affine.onnx")
	p := newPool(t, e, trt.PoolOptions{MaxBatch: 16})
	s, err := p.Acquire(context.Background())
	require.NoError(t, err)
	defer p.Release(s)
	for _, n := range []int64{1, 7, 16, 2} {
		x, err := s.Float32s(0)
		require.NoError(t, err)
		for i := range n * 4 {
			x[i] = float32(i)*0.5 - 3
		}
		require.NoError(t, s.SetInputShape(0, trt.Shape{n, 4}))
		require.NoError(t, s.Run(context.Background()))
		shape, err := s.OutputShape(1)
		require.NoError(t, err)
		assert.Equal(t, trt.Shape{n, 4}, shape)
		y, _ := s.Float32s(1)
		for i := range n * 4 {
			require.Equal(t, 2*x[i]+1, y[i], "n=%d i=%d", n, i)
		}
	}
	err = s.SetInputShape(0, trt.Shape{17, 4})
	assert.ErrorIs(t, err, trt.ErrShape)
	assert.Contains(t, err.Error(), "MaxBatch")
}

func TestTwoOutputs(t *testing.T) {
	e := openCPU(t, "two_outputs.onnx")
	p := newPool(t, e, trt.PoolOptions{MaxBatch: 2})
	s, err := p.Acquire(context.Background())
	require.NoError(t, err)
	defer p.Release(s)
	x, _ := s.Float32s(0)
	copy(x, []float32{1, 2, 3, 4, 5, 6})
	require.NoError(t, s.SetInputShape(0, trt.Shape{2, 3}))
	require.NoError(t, s.Run(context.Background()))
	d, _ := s.Float32s(1)
	tot, _ := s.Float32s(2)
	assert.Equal(t, []float32{2, 4, 6, 8, 10, 12}, d[:6])
	assert.Equal(t, []float32{6, 15}, tot[:2])
}

func TestStaticInputNeedsNoShape(t *testing.T) {
	e := openCPU(t, "static_shape.onnx")
	p := newPool(t, e, trt.PoolOptions{})
	s, err := p.Acquire(context.Background())
	require.NoError(t, err)
	defer p.Release(s)
	x, _ := s.Float32s(0)
	copy(x, []float32{-1, 2, -3, 4})
	require.NoError(t, s.Run(context.Background()))
	y, _ := s.Float32s(1)
	assert.Equal(t, []float32{0, 2, 0, 4}, y)
}

// Many goroutines share one pool; every result must belong to its own input.
func TestConcurrentRuns(t *testing.T) {
	e := openCPU(t, "affine.onnx")
	p := newPool(t, e, trt.PoolOptions{Size: 4, MaxBatch: 8})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 50 {
				s, err := p.Acquire(context.Background())
				if err != nil {
					errs <- err
					return
				}
				n := int64(1 + (g+k)%8)
				x, _ := s.Float32s(0)
				for i := range n * 4 {
					x[i] = float32(g*1000 + k*10 + int(i))
				}
				err = s.SetInputShape(0, trt.Shape{n, 4})
				if err == nil {
					err = s.Run(context.Background())
				}
				if err == nil {
					y, _ := s.Float32s(1)
					for i := range n * 4 {
						if y[i] != 2*x[i]+1 {
							err = errors.New("wrong result")
							break
						}
					}
				}
				p.Release(s)
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	good, err := os.ReadFile(fixture("two_outputs.onnx"))
	require.NoError(t, err)
	plan := append([]byte("ftrt\x00\x00\x00\x00"), make([]byte, 4096)...)
	cases := []struct {
		name string
		path string
		want error
		msg  string
	}{
		{"missing file", filepath.Join(dir, "missing.onnx"), trt.ErrNotFound, "missing.onnx"},
		{"directory", dir, trt.ErrNotFound, "directory"},
		{"corrupt", write("corrupt.onnx", []byte("not a model \x00\xff")), trt.ErrInvalidModel, "corrupt.onnx"},
		{"truncated", write("truncated.onnx", good[:len(good)/2]), trt.ErrInvalidModel, "truncated.onnx"},
		{"empty", write("empty.onnx", nil), trt.ErrInvalidModel, ""},
		{"plan to cpu", write("model.plan", plan), trt.ErrInvalidModel, "tensorrt backend"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := trt.Open(c.path, trt.Options{Backend: trt.ONNXRuntime})
			require.Error(t, err)
			assert.Nil(t, e)
			assert.ErrorIs(t, err, c.want)
			var te *trt.Error
			require.ErrorAs(t, err, &te)
			assert.Contains(t, te.Error(), "trt: open ")
			assert.Contains(t, te.Msg, c.msg)
		})
	}
	_, err = trt.OpenBytes(nil, trt.Options{})
	assert.ErrorIs(t, err, trt.ErrInvalidModel)
	e, err := trt.OpenBytes(good, trt.Options{Backend: trt.ONNXRuntime})
	require.NoError(t, err)
	assert.Equal(t, "<memory>", e.Origin())
	require.NoError(t, e.Close())

	_, err = trt.Open(fixture("affine.onnx"), trt.Options{IntraOpThreads: -1})
	assert.ErrorIs(t, err, trt.ErrInvalidArgument)
	_, err = trt.Open(fixture("affine.onnx"), trt.Options{GraphOptimization: 9})
	assert.ErrorIs(t, err, trt.ErrInvalidArgument)
}

func TestRunErrors(t *testing.T) {
	e := openCPU(t, "affine.onnx")
	st, err := trt.NewStream(0)
	require.NoError(t, err)
	defer st.Close()
	c, err := e.NewContext(st)
	require.NoError(t, err)
	in, err := trt.NewPinnedBuffer(16)
	require.NoError(t, err)
	// Children first: the context holds a binding on the buffer.
	defer func() {
		assert.NoError(t, c.Close())
		assert.NoError(t, in.Close())
	}()

	assert.ErrorIs(t, c.SetInputShape(0, trt.Shape{1, 5}), trt.ErrShape)
	assert.ErrorIs(t, c.SetInputShape(0, trt.Shape{4}), trt.ErrShape)
	assert.ErrorIs(t, c.SetInputShape(0, trt.Shape{-1, 4}), trt.ErrShape)
	assert.ErrorIs(t, c.SetInputShape(1, trt.Shape{1, 4}), trt.ErrInvalidArgument)
	assert.ErrorIs(t, c.SetInputShape(9, trt.Shape{1, 4}), trt.ErrInvalidArgument)
	assert.ErrorIs(t, c.BindRange(0, in, 8, 16), trt.ErrInvalidArgument)
	assert.ErrorIs(t, c.BindRange(0, in, 2, 4), trt.ErrInvalidArgument) // misaligned float32

	// Nothing bound, then no shape, then a batch larger than the binding.
	require.NoError(t, c.SetInputShape(0, trt.Shape{1, 4}))
	err = c.Run(context.Background())
	assert.ErrorIs(t, err, trt.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "not bound")
	require.NoError(t, c.Bind(0, in))
	require.NoError(t, c.Bind(1, in)) // in place is fine for y = 2x+1
	require.NoError(t, c.SetInputShape(0, trt.Shape{2, 4}))
	err = c.Run(context.Background())
	assert.ErrorIs(t, err, trt.ErrShape)
	assert.Contains(t, err.Error(), "needs 32 bytes")
	require.NoError(t, c.SetInputShape(0, trt.Shape{1, 4}))
	require.NoError(t, c.Run(context.Background()))
	assert.Equal(t, float32(1), in.Float32s()[0])
}

func TestWrongDType(t *testing.T) {
	e := openCPU(t, "int_input.onnx")
	p := newPool(t, e, trt.PoolOptions{MaxBatch: 1})
	s, err := p.Acquire(context.Background())
	require.NoError(t, err)
	defer p.Release(s)
	_, err = s.Float32s(0)
	assert.ErrorIs(t, err, trt.ErrDType)
	assert.Contains(t, err.Error(), "int64, not float32")
	ids, err := s.Int64s(0)
	require.NoError(t, err)
	ids[0], ids[1] = 3, -2
	require.NoError(t, s.SetInputShape(0, trt.Shape{1, 2}))
	require.NoError(t, s.Run(context.Background()))
	y, _ := s.Float32s(1)
	assert.Equal(t, []float32{3.5, -1.5}, y[:2])
}

func TestCloseAndUseAfterClose(t *testing.T) {
	before := trt.Live()
	e, err := trt.Open(fixture("affine.onnx"), trt.Options{Backend: trt.ONNXRuntime})
	require.NoError(t, err)
	st, err := trt.NewStream(0)
	require.NoError(t, err)
	c, err := e.NewContext(st)
	require.NoError(t, err)
	b, err := trt.NewPinnedBuffer(64)
	require.NoError(t, err)
	require.NoError(t, c.Bind(0, b))

	// Parents refuse to close under their children.
	assert.ErrorIs(t, e.Close(), trt.ErrBusy)
	assert.ErrorIs(t, st.Close(), trt.ErrBusy)
	assert.ErrorIs(t, b.Close(), trt.ErrBusy)

	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	assert.ErrorIs(t, c.Run(context.Background()), trt.ErrClosed)
	assert.ErrorIs(t, c.SetInputShape(0, trt.Shape{1, 4}), trt.ErrClosed)
	assert.ErrorIs(t, c.Bind(0, b), trt.ErrClosed)
	_, err = c.Shape(0, nil)
	assert.ErrorIs(t, err, trt.ErrClosed)

	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	assert.Nil(t, b.Bytes())
	assert.Nil(t, b.Float32s())
	require.NoError(t, st.Close())
	require.NoError(t, st.Close())
	assert.ErrorIs(t, st.Synchronize(), trt.ErrClosed)
	_, err = e.NewContext(st)
	assert.ErrorIs(t, err, trt.ErrClosed)
	require.NoError(t, e.Close())
	require.NoError(t, e.Close())
	st2, err := trt.NewStream(0)
	require.NoError(t, err)
	_, err = e.NewContext(st2)
	assert.ErrorIs(t, err, trt.ErrClosed)
	require.NoError(t, st2.Close())

	var nilEngine *trt.Engine
	assert.NoError(t, nilEngine.Close())
	assert.Equal(t, before, trt.Live())
}

func TestPoolLifecycle(t *testing.T) {
	before := trt.Live()
	e, err := trt.Open(fixture("affine.onnx"), trt.Options{Backend: trt.ONNXRuntime})
	require.NoError(t, err)
	p, err := trt.NewPool(e, trt.PoolOptions{Size: 2})
	require.NoError(t, err)
	assert.Equal(t, 2, p.Size())
	s1 := p.TryAcquire()
	s2 := p.TryAcquire()
	require.NotNil(t, s1)
	require.NotNil(t, s2)
	assert.Nil(t, p.TryAcquire())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.Acquire(ctx)
	assert.ErrorIs(t, err, trt.ErrCancelled)
	assert.ErrorIs(t, err, context.Canceled)

	assert.ErrorIs(t, e.Close(), trt.ErrBusy)
	// An Acquire with no deadline waiting when Close begins gives up with ErrClosed
	// (Close takes the slots as they come back; it used to wait forever).
	waiting := make(chan error)
	go func() { _, err := p.Acquire(context.Background()); waiting <- err }()
	done := make(chan error)
	go func() { done <- p.Close() }()
	assert.ErrorIs(t, <-waiting, trt.ErrClosed)
	p.Release(s1)
	p.Release(s2)
	require.NoError(t, <-done)
	require.NoError(t, p.Close())
	_, err = p.Acquire(context.Background())
	assert.ErrorIs(t, err, trt.ErrClosed)
	require.NoError(t, e.Close())
	assert.Equal(t, before, trt.Live())

	// y's length is 2N: sized like a batch dim by default, its buffer is too small, and
	// the run says so instead of writing past it.
	e2 := openCPU(t, "concat_self.onnx")
	p1 := newPool(t, e2, trt.PoolOptions{})
	s1, err = p1.Acquire(context.Background())
	require.NoError(t, err)
	require.NoError(t, s1.SetInputShape(0, trt.Shape{1}))
	err = s1.Run(context.Background())
	assert.ErrorIs(t, err, trt.ErrShape)
	assert.Contains(t, err.Error(), "output y of shape [2] needs 8 bytes")
	p1.Release(s1)
	p2 := newPool(t, e2, trt.PoolOptions{MaxShapes: map[string]trt.Shape{"x": {4}, "y": {8}}})
	s, err := p2.Acquire(context.Background())
	require.NoError(t, err)
	x, _ := s.Float32s(0)
	copy(x, []float32{1, 2, 3})
	require.NoError(t, s.SetInputShape(0, trt.Shape{3}))
	require.NoError(t, s.Run(context.Background()))
	shape, err := s.OutputShape(1)
	require.NoError(t, err)
	assert.Equal(t, trt.Shape{6}, shape)
	y, _ := s.Float32s(1)
	assert.Equal(t, []float32{1, 2, 3, 1, 2, 3}, y[:6])
	p2.Release(s)
}

// affineSlot is a ready slot of the affine fixture with a one-row input, released at the
// end of the test.
func affineSlot(t *testing.T) *trt.Slot {
	t.Helper()
	p := newPool(t, openCPU(t, "affine.onnx"), trt.PoolOptions{})
	s, err := p.Acquire(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { p.Release(s) })
	require.NoError(t, s.SetInputShape(0, trt.Shape{1, 4}))
	return s
}

func TestCancelledContext(t *testing.T) {
	s := affineSlot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Run(ctx)
	assert.ErrorIs(t, err, trt.ErrCancelled)
	assert.ErrorIs(t, err, context.Canceled)
	// A live context with a deadline runs normally, and one cancelled after its run
	// leaves no stale cancel behind for the next run on the slot.
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	require.NoError(t, s.Run(ctx2))
	cancel2()
	require.NoError(t, s.Run(context.Background()))
}

// A cancel that fires as a run ends must land on that run, never on the next one that
// shares the context: each Run cancelled at a random moment, then a run with a live
// context, which must succeed.
func TestLateCancelDoesNotLeak(t *testing.T) {
	s := affineSlot(t)
	for i := range 5000 {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			if i%2 == 0 {
				runtime.Gosched()
			}
			cancel()
		}()
		_ = s.Run(ctx) // cancelled or not, depending on the race
		cancel()
		require.NoError(t, s.Run(context.Background()), "iteration %d: a stale cancel reached the next run", i)
	}
}

func TestBackends(t *testing.T) {
	for in, want := range map[string]trt.Backend{"": trt.Auto, "AUTO": trt.Auto, "ort": trt.ONNXRuntime, "cpu": trt.ONNXRuntime, "tensorrt": trt.TensorRT, "gpu": trt.TensorRT} {
		got, err := trt.ParseBackend(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := trt.ParseBackend("cuda-magic")
	assert.ErrorIs(t, err, trt.ErrInvalidArgument)

	b, err := trt.Probe(trt.ONNXRuntime)
	require.NoError(t, err)
	assert.Equal(t, trt.ONNXRuntime, b)
	b, err = trt.Probe(trt.Auto)
	require.NoError(t, err)
	assert.Contains(t, []trt.Backend{trt.ONNXRuntime, trt.TensorRT}, b)
	assert.Contains(t, trt.Versions(), "onnxruntime 1.")
}

// Without TensorRT, asking for it is an ErrUnavailable that says why, and auto falls
// back to ONNX Runtime.
func TestTensorRTUnavailable(t *testing.T) {
	if _, err := trt.Probe(trt.TensorRT); err == nil {
		t.Skip("TensorRT is usable here; the unavailable path is not exercised")
	}
	_, err := trt.Open(fixture("affine.onnx"), trt.Options{Backend: trt.TensorRT})
	require.ErrorIs(t, err, trt.ErrUnavailable)
	msg := err.Error()
	assert.True(t, containsAny(msg, "not built", "no GPU", "no library"), msg)
	e, err := trt.Open(fixture("affine.onnx"), trt.Options{Backend: trt.Auto})
	require.NoError(t, err)
	defer e.Close()
	assert.Equal(t, trt.ONNXRuntime, e.Backend())
}

func TestTensorRTOnGPU(t *testing.T) {
	if _, err := trt.Probe(trt.TensorRT); err != nil {
		t.Skipf("TensorRT unavailable: %v", err)
	}
	e, err := trt.Open(fixture("affine.onnx"), trt.Options{Backend: trt.TensorRT, MaxBatch: 8, CacheDir: t.TempDir(), FP32: true})
	require.NoError(t, err)
	defer e.Close()
	p, err := trt.NewPool(e, trt.PoolOptions{Size: 2, MaxBatch: 8})
	require.NoError(t, err)
	defer p.Close()
	s, err := p.Acquire(context.Background())
	require.NoError(t, err)
	defer p.Release(s)
	assert.True(t, s.Context().Stream().IsCUDA())
	assert.True(t, s.Buffer(0).Pinned())
	x, _ := s.Float32s(0)
	for i := range 12 {
		x[i] = float32(i)
	}
	require.NoError(t, s.SetInputShape(0, trt.Shape{3, 4}))
	require.NoError(t, s.Run(context.Background()))
	y, _ := s.Float32s(1)
	for i := range 12 {
		assert.Equal(t, 2*x[i]+1, y[i])
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if len(sub) > 0 && len(s) >= len(sub) && (stringIndex(s, sub) >= 0) {
			return true
		}
	}
	return false
}

func stringIndex(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestOutputShapes(t *testing.T) {
	e := openCPU(t, "two_outputs.onnx")
	shapes, err := e.OutputShapes(map[string]trt.Shape{"x": {5, 3}})
	require.NoError(t, err)
	assert.Equal(t, map[string]trt.Shape{"doubled": {5, 3}, "total": {5}}, shapes)
	c := openCPU(t, "concat_self.onnx")
	shapes, err = c.OutputShapes(map[string]trt.Shape{"x": {7}})
	require.NoError(t, err)
	assert.Equal(t, trt.Shape{14}, shapes["y"], "found by running: M matches no input symbol")
	_, err = c.OutputShapes(map[string]trt.Shape{})
	assert.ErrorIs(t, err, trt.ErrInvalidArgument)
}

// A value dropped without Close is reported (the native memory is not freed behind the
// caller's back, but the leak is visible).
func TestLeakIsReported(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	trt.SetLogger(slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, string(p))
		return len(p), nil
	}), nil)))
	defer trt.SetLogger(nil)
	before := trt.Live().Buffers
	func() {
		b, err := trt.NewPinnedBuffer(128)
		require.NoError(t, err)
		_ = b.Len()
	}()
	require.Eventually(t, func() bool {
		runtime.GC()
		mu.Lock()
		defer mu.Unlock()
		for _, l := range logs {
			if strings.Contains(l, "PinnedBuffer garbage collected without Close") {
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, before+1, trt.Live().Buffers, "still counted as live: it was never closed")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
