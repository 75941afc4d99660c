package segment

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	xdraw "golang.org/x/image/draw"

	"github.com/nailtrt/nailtrt/internal/testimg"
	"github.com/nailtrt/nailtrt/nails"
)

// BenchmarkPostprocess times each postprocessor plus contour tracing on a 1.2 MP photo,
// on tensors from the fixture models (the inference itself is not timed).
func BenchmarkPostprocess(b *testing.B) {
	p, err := nails.Decode(testimg.BenchJPEG(b), nails.Limits{})
	require.NoError(b, err)
	for _, name := range []string{"semantic", "rfdetr", "yolo"} {
		b.Run(name, func(b *testing.B) {
			s := openFixture(b, name)
			slot, err := s.lanes.acquire(context.Background())
			require.NoError(b, err)
			defer s.lanes.release(slot)
			g := nails.NewGeometry(p.Width, p.Height, s.manifest.Input)
			buf, _ := slot.Float32s(s.input)
			require.NoError(b, nails.Preprocess(p, g, s.manifest.Input, buf))
			require.NoError(b, slot.SetInputShape(s.input, []int64{1, 3, 64, 64}))
			require.NoError(b, slot.Run(context.Background()))
			shapes, err := readShapes(slot, s.engine)
			require.NoError(b, err)
			for b.Loop() {
				found, err := s.post.Nails(outputs{slot: slot, shapes: shapes, n: 1}, g)
				if err != nil {
					b.Fatal(err)
				}
				nails.FinishNails(found, 1)
			}
		})
	}
}

// handJPEG is one real hand photo from the dataset scaled to w x h (skips without it).
func handJPEG(b *testing.B, w, h int) []byte {
	raw, err := os.ReadFile(filepath.Join(testimg.DatasetDir(b), "images", "hands", "d6358550-db67-11e8-9658-0242ac1c0002.jpg"))
	if err != nil {
		b.Skipf("dataset photo: %v", err)
	}
	small, err := nails.Decode(raw, nails.Limits{})
	require.NoError(b, err)
	big := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(big, big.Bounds(), small.RGBA(), small.RGBA().Bounds(), xdraw.Src, nil)
	return testimg.JPEG(b, big, 90)
}

// BenchmarkSegmentBundled is one real hand photo (scaled to 1280x959) through the
// committed model, per stage; infer-ms is the whole model call (both TTA images) at 1
// and 2 ONNX Runtime threads. BenchmarkSegmentModels compares models side by side.
// Skips without the model or the dataset.
func BenchmarkSegmentBundled(b *testing.B) {
	model := testimg.BundledModel(b)
	data := handJPEG(b, 1280, 959)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("model=fp32/threads=%d", threads), func(b *testing.B) {
			benchSegment(b, model, threads, data)
		})
	}
}

// BenchmarkSegmentModels compares manifests side by side in one run, alternating (the
// model card's cost row): NAILTRT_BENCH_MODELS=name=path,name=path (default: the bundled
// model), on a 1280x960 whole-hand photo (a 640x480 one with NAILTRT_BENCH_SIZE=640).
//
//	NAILTRT_BENCH_MODELS=old=$PWD/engines/nailseg.json,new=$PWD/build/x/nailseg.json \
//	  go test -run '^$' -bench SegmentModels -benchtime 30x -count 3 ./nails/segment
func BenchmarkSegmentModels(b *testing.B) {
	spec := os.Getenv("NAILTRT_BENCH_MODELS")
	if spec == "" {
		spec = "bundled=" + testimg.BundledModel(b)
	}
	w, h := 1280, 959
	if os.Getenv("NAILTRT_BENCH_SIZE") == "640" {
		w, h = 640, 480
	}
	data := handJPEG(b, w, h)
	for _, kv := range strings.Split(spec, ",") {
		name, path, ok := strings.Cut(kv, "=")
		require.True(b, ok, "NAILTRT_BENCH_MODELS entries are name=path, got %q", kv)
		b.Run("model="+name, func(b *testing.B) { benchSegment(b, path, 2, data) })
	}
}

func benchSegment(b *testing.B, model string, threads int, data []byte) {
	seg, err := Open(context.Background(), Config{Model: model, Backend: "onnxruntime", Contexts: 1, Threads: threads})
	require.NoError(b, err)
	defer seg.Close()
	var sum nails.Timings
	for b.Loop() {
		res, err := seg.Segment(context.Background(), data)
		if err != nil {
			b.Fatal(err)
		}
		sum.Decode += res.Timings.Decode
		sum.Preprocess += res.Timings.Preprocess
		sum.Infer += res.Timings.Infer
		sum.Postprocess += res.Timings.Postprocess
	}
	n := float64(b.N) * 1e6
	b.ReportMetric(float64(sum.Decode)/n, "decode-ms")
	b.ReportMetric(float64(sum.Preprocess)/n, "preprocess-ms")
	b.ReportMetric(float64(sum.Infer)/n, "infer-ms")
	b.ReportMetric(float64(sum.Postprocess)/n, "postprocess-ms")
}
