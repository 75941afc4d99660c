package nails

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
)

// A 1.2 MP (1280x960) photo-like JPEG, the size the targets are set for.
func benchJPEG(b *testing.B) []byte {
	img := patternPhoto(1280, 960)
	for y := 0; y < 960; y++ {
		for x := 0; x < 1280; x++ {
			img.Pix[y*img.Stride+4*x+2] = uint8(90 + (x+y)/32)
		}
	}
	return encodeJPEG(b, img, 90)
}

func BenchmarkDecodeJPEG(b *testing.B) {
	data := benchJPEG(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocess writes the model input from a decoded 1.2 MP JPEG at three input
// sizes, and from a 640x480 one at 512: what the pipeline does for most photos, which are
// decoded at the DCT scale nearest above the input size (a 1280x960 photo at 1/2).
func BenchmarkPreprocess(b *testing.B) {
	p, err := Decode(benchJPEG(b), Limits{})
	require.NoError(b, err)
	vga, err := Decode(encodeJPEG(b, patternPhoto(640, 480), 90), Limits{})
	require.NoError(b, err)
	for _, c := range []struct {
		name string
		p    *Photo
		size int
	}{{"1.2MP-to-320", p, 320}, {"1.2MP-to-384", p, 384}, {"1.2MP-to-512", p, 512}, {"640x480-to-512", vga, 512}} {
		p, size := c.p, c.size
		b.Run(c.name, func(b *testing.B) {
			in := testInput
			in.Width, in.Height = size, size
			g := NewGeometry(p.Width, p.Height, in)
			dst := make([]float32, 3*size*size)
			for b.Loop() {
				if err := Preprocess(p, g, in, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPostprocess times each output decoder plus contour tracing on a 1.2 MP photo,
// on tensors from the fixture models (the inference itself is not timed).
func BenchmarkPostprocess(b *testing.B) {
	p, err := Decode(benchJPEG(b), Limits{})
	require.NoError(b, err)
	for _, name := range []string{"semantic", "rfdetr", "yolo"} {
		b.Run(name, func(b *testing.B) {
			s := openFixture(b, name)
			slot, err := s.lanes.acquire(context.Background())
			require.NoError(b, err)
			defer s.lanes.release(slot)
			g := NewGeometry(p.Width, p.Height, s.manifest.Input)
			buf, _ := slot.Float32s(s.input)
			require.NoError(b, Preprocess(p, g, s.manifest.Input, buf))
			require.NoError(b, slot.SetInputShape(s.input, []int64{1, 3, 64, 64}))
			require.NoError(b, slot.Run(context.Background()))
			shapes, err := readShapes(slot, s.engine)
			require.NoError(b, err)
			for b.Loop() {
				nails, err := s.decoder.decode(outputs{slot: slot, shapes: shapes, n: 1}, g)
				if err != nil {
					b.Fatal(err)
				}
				finish(nails, 1)
			}
		})
	}
}

// BenchmarkRender paints 10 nails on a 1.2 MP photo: paint alone (RenderInto on the
// decoded photo's RGBA) and with the copy Render makes.
func BenchmarkRender(b *testing.B) {
	p, err := Decode(benchJPEG(b), Limits{})
	require.NoError(b, err)
	res := &Result{Width: p.Width, Height: p.Height}
	for i := range 10 {
		n := ellipseNail(float64(120+i*110), float64(300+(i%2)*200), 22, 38)
		n.ID = i + 1
		res.Nails = append(res.Nails, n)
	}
	img := p.RGBA()
	for _, m := range []string{"glossy_red", "matte_black", "metallic_gold", "glitter_gold", "sheer_pink", "french_classic"} {
		mat, _ := Preset(m)
		b.Run("paint/"+m, func(b *testing.B) {
			for b.Loop() {
				if err := RenderInto(img, res, mat); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	mat, _ := Preset("glossy_red")
	b.Run("copy+paint/glossy_red", func(b *testing.B) {
		for b.Loop() {
			if _, err := Render(p, res, mat); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ycbcr-to-rgba", func(b *testing.B) {
		for b.Loop() {
			q := *p
			q.rgba = nil
			q.RGBA()
		}
	})
}

// BenchmarkSegmentBundled is one real hand photo (scaled to 1280x959) through the
// committed model, per stage; infer-ms is the whole model call (both TTA images) at 1
// and 2 ONNX Runtime threads. BenchmarkSegmentModels compares models side by side.
// Skips without the model or the dataset.
func BenchmarkSegmentBundled(b *testing.B) {
	models := []struct{ name, path string }{{"fp32", bundledModel(b)}}
	dir := datasetDir(b)
	raw, err := os.ReadFile(filepath.Join(dir, "images", "hands", "d6358550-db67-11e8-9658-0242ac1c0002.jpg"))
	if err != nil {
		b.Skipf("dataset photo: %v", err)
	}
	small, err := Decode(raw, Limits{})
	require.NoError(b, err)
	big := image.NewRGBA(image.Rect(0, 0, 1280, 959))
	xdraw.CatmullRom.Scale(big, big.Bounds(), small.RGBA(), small.RGBA().Bounds(), xdraw.Src, nil)
	data := encodeJPEG(b, big, 90)
	for _, m := range models {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("model=%s/threads=%d", m.name, threads), func(b *testing.B) {
				benchSegment(b, m.path, threads, data)
			})
		}
	}
}

// BenchmarkSegmentModels compares manifests side by side in one run, alternating (the
// model card's cost row): NAILTRT_BENCH_MODELS=name=path,name=path (default: the bundled
// model), on a 1280x960 whole-hand photo (a 640x480 one with NAILTRT_BENCH_SIZE=640).
//
//	NAILTRT_BENCH_MODELS=old=engines/nailseg.json,new=build/x/nailseg.json \
//	  go test -run '^$' -bench SegmentModels -benchtime 30x -count 3 ./nails
func BenchmarkSegmentModels(b *testing.B) {
	spec := os.Getenv("NAILTRT_BENCH_MODELS")
	if spec == "" {
		spec = "bundled=" + bundledModel(b)
	}
	raw, err := os.ReadFile(filepath.Join(datasetDir(b), "images", "hands", "d6358550-db67-11e8-9658-0242ac1c0002.jpg"))
	if err != nil {
		b.Skipf("dataset photo: %v", err)
	}
	small, err := Decode(raw, Limits{})
	require.NoError(b, err)
	w, h := 1280, 959
	if os.Getenv("NAILTRT_BENCH_SIZE") == "640" {
		w, h = 640, 480
	}
	big := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(big, big.Bounds(), small.RGBA(), small.RGBA().Bounds(), xdraw.Src, nil)
	data := encodeJPEG(b, big, 90)
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
	var sum Timings
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

func BenchmarkEncodeJPEG(b *testing.B) {
	p, err := Decode(benchJPEG(b), Limits{})
	require.NoError(b, err)
	img := p.RGBA()
	for b.Loop() {
		if _, err := EncodeJPEG(img, 90); err != nil {
			b.Fatal(err)
		}
	}
}
