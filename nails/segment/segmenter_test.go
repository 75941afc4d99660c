package segment

import (
	"context"
	"fmt"
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
	"github.com/nailtrt/nailtrt/trt"
)

// SegmentHeader decodes into pooled planes that the next call reuses: concurrent calls
// on photos of different sizes, alone and batched, must each get exactly the nails their
// own photo gets from a decode that owns its planes.
func TestSegmentHeaderPooledPlanesStayPrivate(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "hand.jpg"))
	require.NoError(t, err)
	ex, err := nails.Decode(src, nails.Limits{})
	require.NoError(t, err)
	var photos [][]byte
	for _, w := range []int{1600, 900, 1300} {
		img := image.NewRGBA(image.Rect(0, 0, w, w*ex.Height/ex.Width))
		xdraw.ApproxBiLinear.Scale(img, img.Bounds(), ex.RGBA(), ex.RGBA().Bounds(), xdraw.Src, nil)
		photos = append(photos, testimg.JPEG(t, img, 90))
	}
	for _, batch := range []int{0, 4} {
		t.Run(fmt.Sprintf("maxbatch=%d", batch), func(t *testing.T) {
			s, err := Open(context.Background(), Config{Model: testimg.BundledModel(t), Backend: "onnxruntime", Threads: 1,
				Contexts: 2, MaxBatch: batch, BatchDelay: time.Millisecond})
			require.NoError(t, err)
			defer s.Close()
			want := make([][]nails.Nail, len(photos))
			for i, data := range photos {
				h, err := nails.ReadHeader(data)
				require.NoError(t, err)
				p, err := s.Decode(context.Background(), data, h)
				require.NoError(t, err)
				res, err := s.SegmentPhoto(context.Background(), p)
				require.NoError(t, err)
				require.NotEmpty(t, res.Nails)
				want[i] = res.Nails
			}
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Go(func() {
					for k := range 3 {
						i := (g + k) % len(photos)
						res, err := s.Segment(context.Background(), photos[i])
						if assert.NoError(t, err) {
							assert.Equal(t, want[i], res.Nails, "photo %d", i)
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// A backend that cannot run here is nails.ErrUnavailable to callers (the server maps it
// to 503 without importing the runner), with the runner's reason kept.
func TestUnavailableBackendIsTheDomainsError(t *testing.T) {
	if _, err := trt.Probe(trt.TensorRT); err == nil {
		t.Skip("TensorRT is usable here; the unavailable path is not exercised")
	}
	cfg := Config{Model: filepath.Join("..", "testdata", "semantic.json"), Backend: "tensorrt"}
	_, err := Open(context.Background(), cfg)
	require.ErrorIs(t, err, nails.ErrUnavailable)
	assert.ErrorIs(t, err, trt.ErrUnavailable)
	assert.ErrorIs(t, Preflight(cfg), nails.ErrUnavailable)
}

// The built-in models load by name, each verified against its manifest's checksum; ""
// is the photo model's build that suits this machine; and the INT8 build and the live
// model run: each finds what the float photo model finds on docs/examples/hand.jpg
// within a nail or two.
func TestBuiltinModels(t *testing.T) {
	def, _, err := LoadModel("")
	require.NoError(t, err)
	want := BuiltinPrefix + "nailseg"
	if hasVNNI() {
		want = BuiltinPrefix + "nailseg-int8"
	}
	assert.Equal(t, want, DefaultModel("onnxruntime"))
	chosen, _, err := LoadModel(want)
	require.NoError(t, err)
	assert.Equal(t, chosen.ID(), def.ID(), `"" is DefaultModel's choice`)

	photo, photoBytes, err := LoadModel(BuiltinPrefix + "nailseg")
	require.NoError(t, err)
	quant, quantBytes, err := LoadModel(BuiltinPrefix + "nailseg-int8")
	require.NoError(t, err)
	assert.Equal(t, "nailseg-int8", quant.Name)
	assert.Equal(t, photo.Version, quant.Version, "the INT8 build is the photo model's weights: one version")
	assert.Equal(t, photo.Input, quant.Input)
	assert.Less(t, len(quantBytes), len(photoBytes)/2)
	live, liveBytes, err := LoadModel(BuiltinPrefix + "nailseg-live")
	require.NoError(t, err)
	assert.Equal(t, "nailseg-live", live.Name)
	assert.Equal(t, photo.Version, live.Version, "the live model is the photo model's weights: one version")
	assert.NotEqual(t, photoBytes, liveBytes)
	assert.Less(t, live.Input.Width, photo.Input.Width)
	assert.Equal(t, nails.TTANone, live.TTA)

	_, _, err = LoadModel(BuiltinPrefix + "nailseg-fast")
	require.ErrorIs(t, err, nails.ErrManifest)
	assert.Contains(t, err.Error(), "nailseg, nailseg-int8, nailseg-live", "the message lists what is built in")

	src, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "hand.jpg"))
	require.NoError(t, err)
	count := func(model string) int {
		s, err := Open(context.Background(), Config{Model: model, Threads: 1})
		require.NoError(t, err)
		defer s.Close()
		res, err := s.Segment(context.Background(), src)
		require.NoError(t, err)
		return len(res.Nails)
	}
	n := count(BuiltinPrefix + "nailseg")
	nQuant, nLive := count(BuiltinPrefix+"nailseg-int8"), count(BuiltinPrefix+"nailseg-live")
	assert.InDelta(t, n, nQuant, 1, "photo model %d nails, its INT8 build %d", n, nQuant)
	assert.InDelta(t, n, nLive, 2, "photo model %d nails, live model %d", n, nLive)
	assert.Positive(t, nLive)
}
