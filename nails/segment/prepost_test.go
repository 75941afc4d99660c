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
