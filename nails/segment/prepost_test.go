package segment

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xdraw "golang.org/x/image/draw"

	"github.com/nailtrt/nailtrt/internal/benchkit"
	"github.com/nailtrt/nailtrt/internal/testimg"
	"github.com/nailtrt/nailtrt/nails"
)

// The runner's pre- and post-processing (what a TensorRT request runs as CUDA kernels)
// against the Go pipeline, through the whole request path: the runner's pixels into the
// input items, the batch, the decode into nails. On ONNX Runtime the runner runs the
// kernels' CPU references, so this is the wiring's test on any machine; that the kernels
// equal the references is nailtrt_pixel_tests' on a GPU.
func TestRunnerPrePostMatchesGo(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "hand.jpg"))
	require.NoError(t, err)
	hand, err := nails.Decode(src, nails.Limits{})
	require.NoError(t, err)
	// Decoded at 1/4 (651x479), whose letterbox would be a row shorter (377 against the
	// full size's 376 rows of 512): a runner that placed the reduced pixels as a photo of
	// their own size would move every nail.
	big := image.NewRGBA(image.Rect(0, 0, 2603, 1913))
	xdraw.ApproxBiLinear.Scale(big, big.Bounds(), hand.RGBA(), hand.RGBA().Bounds(), xdraw.Src, nil)

	cfg := Config{Model: testimg.BundledModel(t), Backend: "onnxruntime", Threads: 1, Contexts: 1}
	goPath, err := Open(context.Background(), cfg)
	require.NoError(t, err)
	defer goPath.Close()
	require.Nil(t, goPath.runner, "ONNX Runtime preprocesses and decodes in Go")
	cfg.runnerOnCPU = true
	runner, err := Open(context.Background(), cfg)
	require.NoError(t, err)
	defer runner.Close()
	require.NotNil(t, runner.runner)

	segment := func(t *testing.T, s *Segmenter, data []byte) []nails.Nail {
		t.Helper()
		res, err := s.Segment(context.Background(), data)
		require.NoError(t, err)
		require.NotEmpty(t, res.Nails)
		return res.Nails
	}

	// Both paths read the same bytes with the same arithmetic, so the nails are the same
	// to the last mask byte: a small PNG (upscaled into the input: bilinear), a large
	// translucent one (area filter over premultiplied pixels, which the Go path once read
	// straight from the NRGBA image), a JPEG and a large one decoded at 1/4 (area filter
	// over the YCbCr planes before conversion, the reduced planes placed as the full-size
	// photo: a runner that placed them as a photo of their own size moves every nail).
	translucent := image.NewNRGBA(image.Rect(0, 0, 3*hand.Width, 3*hand.Height))
	xdraw.ApproxBiLinear.Scale(translucent, translucent.Bounds(), hand.RGBA(), hand.RGBA().Bounds(), xdraw.Src, nil)
	for i := 3; i < len(translucent.Pix); i += 4 {
		translucent.Pix[i] = 200
	}
	photos := map[string][]byte{"png": testimg.PNG(t, hand.RGBA()), "translucent png": testimg.PNG(t, translucent),
		"jpeg": src, "reduced jpeg": testimg.JPEG(t, big, 92)}
	for name, data := range photos {
		t.Run(name, func(t *testing.T) {
			want, got := segment(t, goPath, data), segment(t, runner, data)
			require.Len(t, got, len(want))
			for i := range want {
				assert.InDelta(t, want[i].Score, got[i].Score, 1e-12, "nail %d", i)
				got[i].Score = want[i].Score
			}
			assert.Equal(t, want, got)
		})
	}

	// A rotated JPEG (EXIF orientation 6, the photo stored sideways): Go's area filter
	// averages its planes through the rotation, the runner reads the oriented RGBA copy
	// (converted before averaging), so the inputs differ in the last bits and the nails
	// by a pixel or two at most.
	t.Run("rotated jpeg", func(t *testing.T) {
		rotated := func() *nails.Photo {
			p, err := nails.Decode(testimg.JPEG(t, big, 92), nails.Limits{})
			require.NoError(t, err)
			p.Orientation, p.Width, p.Height = 6, p.Height, p.Width
			return p
		}
		w, err := goPath.SegmentPhoto(context.Background(), rotated())
		require.NoError(t, err)
		g, err := runner.SegmentPhoto(context.Background(), rotated())
		require.NoError(t, err)
		require.NotEmpty(t, w.Nails)
		require.Len(t, g.Nails, len(w.Nails))
		for i := range w.Nails {
			a, b := w.Nails[i].Box, g.Nails[i].Box
			assert.True(t, testimg.RectNear(b, a.Min.X, a.Min.Y, a.Max.X, a.Max.Y, 2), "nail %d: %v, Go %v", i, b, a)
			assert.InDelta(t, w.Nails[i].Score, g.Nails[i].Score, 0.01, "nail %d", i)
		}
	})

	// Batched: concurrent requests share runs, each at its own items of the input and the
	// logits, and get what they get alone.
	t.Run("batched", func(t *testing.T) {
		photos := [][]byte{testimg.PNG(t, hand.RGBA()), src, testimg.JPEG(t, big, 92)}
		want := make([][]nails.Nail, len(photos))
		for i, data := range photos {
			want[i] = segment(t, runner, data)
		}
		bcfg := cfg
		bcfg.Contexts, bcfg.MaxBatch, bcfg.BatchDelay = 1, 6, 5*time.Millisecond
		batched, err := Open(context.Background(), bcfg)
		require.NoError(t, err)
		defer batched.Close()
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Go(func() {
				i := g % len(photos)
				res, err := batched.Segment(context.Background(), photos[i])
				if assert.NoError(t, err) {
					assert.Equal(t, want[i], res.Nails, "photo %d", i)
				}
			})
		}
		wg.Wait()
		assert.Positive(t, batched.BatchStats().Runs)
		assert.Greater(t, batched.BatchStats().Requests, batched.BatchStats().Runs, "some runs were shared")
	})
}

// A request that leaves a batch before it runs may have its photo's planes reused at
// once (SegmentHeader gives pooled planes back): the runner's leader, which reads photos
// after they join, must skip that one. Here a goroutine keeps writing the photo's planes
// from the moment its request has returned until the batch is done, as the next decode
// would; the members that stayed get their own nails, and the leader counts the member
// it skipped.
func TestRunnerSkipsAMemberThatLeft(t *testing.T) {
	ex, err := benchkit.ExamplePhoto()
	require.NoError(t, err)
	data, err := benchkit.ScaledJPEG(ex, 640, 480, 9)
	require.NoError(t, err)
	photo := func() *nails.Photo {
		p, err := nails.Decode(data, nails.Limits{})
		require.NoError(t, err)
		return p
	}
	cfg := Config{Model: testimg.BundledModel(t), Backend: "onnxruntime", Threads: 1, Contexts: 1, runnerOnCPU: true}
	alone, err := Open(context.Background(), cfg)
	require.NoError(t, err)
	defer alone.Close()
	want, err := alone.SegmentPhoto(context.Background(), photo())
	require.NoError(t, err)
	require.NotEmpty(t, want.Nails)

	cfg.MaxBatch, cfg.BatchDelay = 6, time.Minute // three requests; the batch runs when full
	s, err := Open(context.Background(), cfg)
	require.NoError(t, err)
	defer s.Close()
	leaving := photo()
	planes := s.runner.planes(leaving)
	require.NotNil(t, planes, "the photo goes as planes, read by the leader after joining")
	joined := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool { return OpenBatchMembers(s) == n }, 30*time.Second, time.Millisecond)
	}
	results := make(chan *nails.Result, 2)
	stay := func() {
		res, err := s.SegmentPhoto(context.Background(), photo())
		assert.NoError(t, err)
		results <- res
	}
	go stay()
	joined(1)
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error)
	go func() { _, err := s.SegmentPhoto(ctx, leaving); left <- err }()
	joined(2)
	cancel()
	require.ErrorIs(t, <-left, context.Canceled)
	// The planes go to the next decode, which writes them while the batch runs.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i := range planes.Y {
				planes.Y[i]++
			}
		}
	}()
	go stay() // fills the batch, which runs
	for range 2 {
		res := <-results
		require.NotNil(t, res)
		assert.Equal(t, want.Nails, res.Nails)
	}
	close(stop)
	<-stopped
	assert.Equal(t, int64(1), s.runner.left.Load(), "the leader skipped the member that left")
}
