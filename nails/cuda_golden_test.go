package nails

// The Go pipeline's answers that the native runner's CPU references of the CUDA kernels
// (native/src/cuda) must reproduce: the same photo gives the same input tensor within
// 1e-5, the same logits the same nails and masks bit for bit. The goldens are committed
// under native/tests/testdata/cuda and read by native/tests/cuda_reference_test.cpp
// (ctest); this test recomputes them and fails when the Go pipeline no longer gives what
// they hold, so a change here cannot silently leave the references testing an old answer.
// After an intended change to the arithmetic:
//
//	go test ./nails -run TestCUDAGoldens -cuda-goldens.update
//
// File format (little-endian; the C++ reader is native/tests/golden.h): "NTGOLD1\n", then
// records of name length (uint16), name, kind ('i' int64, 'd' float64, 'f' float32, 'b'
// bytes), count (uint64) and count values.

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateCUDAGoldens = flag.Bool("cuda-goldens.update", false, "rewrite native/tests/testdata/cuda from the Go pipeline")

const cudaGoldenDir = "../native/tests/testdata/cuda"

func TestCUDAGoldens(t *testing.T) {
	photo := goldenPhoto(t)
	manifestIn := InputSpec{Color: ColorRGB, Resize: ResizeLetterbox, Scale: 1.0 / 255,
		Mean: [3]float64{0.485, 0.456, 0.406}, Std: [3]float64{0.229, 0.224, 0.225}, Pad: [3]float64{124, 116, 104}}
	bgrStretch := InputSpec{Color: ColorBGR, Resize: ResizeStretch, Scale: 1,
		Mean: [3]float64{103.5, 116.25, 123.75}, Std: [3]float64{57.4, 57.1, 58.4}, Pad: [3]float64{0, 0, 0}}
	pre := []struct {
		name   string
		img    *image.RGBA
		in     InputSpec
		w, h   int
		mirror bool
	}{
		// Area filter (photo larger than its place), letterboxed top and bottom, mirror TTA.
		{"pre_down_letterbox", crop(photo, 150, 100), manifestIn, 48, 40, true},
		// Bilinear (photo smaller), letterboxed left and right.
		{"pre_up_letterbox", crop(photo, 20, 27), manifestIn, 48, 40, true},
		// Stretched, BGR, area filter on both axes.
		{"pre_stretch_bgr", crop(photo, 131, 71), bgrStretch, 48, 40, false},
		// Stretched with one axis up: Go takes the bilinear path for both.
		{"pre_stretch_mixed", crop(photo, 97, 23), bgrStretch, 48, 40, true},
	}
	for _, c := range pre {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.Width, in.Height = c.w, c.h
			b := c.img.Bounds()
			p := &Photo{Src: c.img, Orientation: 1, Width: b.Dx(), Height: b.Dy()}
			g := NewGeometry(p.Width, p.Height, in)
			plane := 3 * in.Width * in.Height
			dst := make([]float32, plane)
			var mirrored []float32
			if c.mirror {
				mirrored = make([]float32, plane)
			}
			require.NoError(t, preprocess(p, g, in, dst, mirrored))
			var w goldenWriter
			w.ints("photo", int64(p.Width), int64(p.Height), int64(c.img.Stride))
			w.bytes("rgba", c.img.Pix)
			writeInputSpec(&w, in)
			writeGeometry(&w, g)
			w.f32("tensor", dst)
			if mirrored != nil {
				w.f32("mirror", mirrored)
			}
			checkGolden(t, c.name, w.buf.Bytes())
		})
	}

	fixture, err := LoadManifest(filepath.Join("testdata", "semantic.json"))
	require.NoError(t, err)
	post := []struct {
		name             string
		photoW, photoH   int
		inW, inH         int
		mapW, mapH       int
		hflip            bool
		threshold, maskT float64
		minArea          int
		minScore         float64
	}{
		// The bundled model's settings: mirror TTA, nails at 0.6, masks at 0.4, mean
		// probability 0.85; a 12 MP-like photo, so each mask cell is 12 photo pixels.
		{"post_tta_stride1", 1600, 1200, 64, 64, 64, 64, true, 0.6, 0.4, 4, 0.85},
		// A map at half the input's resolution (stride 2), portrait, no TTA.
		{"post_stride2", 300, 500, 64, 64, 32, 32, false, 0.5, 0, 8, 0},
		// A photo smaller than the input: one photo pixel a cell.
		{"post_small_photo", 50, 40, 64, 64, 64, 64, true, 0.6, 0.4, 4, 0.85},
	}
	for i, c := range post {
		t.Run(c.name, func(t *testing.T) {
			m := *fixture
			m.Threshold, m.Output.MaskThreshold, m.Output.MinArea, m.Output.MinScore = c.threshold, c.maskT, c.minArea, c.minScore
			m.TTA = ""
			if c.hflip {
				m.TTA = TTAHFlip
			}
			d, err := newSemantic(&m, logitOutput)
			require.NoError(t, err)
			in := m.Input
			in.Width, in.Height = c.inW, c.inH
			g := NewGeometry(c.photoW, c.photoH, in)
			n := 1
			if c.hflip {
				n = 2
			}
			logits := syntheticLogits(c.mapW, c.mapH, n, g, uint64(i+1))
			out := sliceOutputs{d.index: {logits, Shape{int64(n), 1, int64(c.mapH), int64(c.mapW)}}}
			nails, err := d.Nails(out, g)
			require.NoError(t, err)
			require.NotEmpty(t, nails, "the case must find nails")

			var w goldenWriter
			w.ints("photo", int64(c.photoW), int64(c.photoH))
			w.ints("map", int64(c.mapW), int64(c.mapH), int64(n))
			writeInputSpec(&w, in)
			writeGeometry(&w, g)
			w.f64("spec", c.threshold, c.maskT, float64(c.minArea), c.minScore)
			w.f32("logits", logits)
			w.ints("nails", int64(len(nails)))
			for k, nl := range nails {
				r := nl.Mask.Rect
				w.ints(fmt.Sprintf("nail%d", k), int64(r.Min.X), int64(r.Min.Y), int64(r.Max.X), int64(r.Max.Y), int64(nl.Mask.Scale))
				w.f64(fmt.Sprintf("score%d", k), nl.Score)
				w.bytes(fmt.Sprintf("alpha%d", k), nl.Mask.Alpha)
			}
			checkGolden(t, c.name, w.buf.Bytes())
		})
	}

	t.Run("alpha_lut", func(t *testing.T) {
		var w goldenWriter
		w.bytes("lut", alphaLUT[:])
		checkGolden(t, "alpha_lut", w.buf.Bytes())
	})
}

// logitOutput describes the semantic fixture's one output (any name) to a postprocessor, as
// a runtime would: tensor 0, float32, [batch, 1, height, width].
func logitOutput(name string) (OutputDesc, error) {
	return OutputDesc{Name: name, Index: 0, Output: true, DType: "float32", Shape: Shape{-1, 1, -1, -1}}, nil
}

// sliceOutputs is Outputs over plain slices, by tensor index.
type sliceOutputs map[int]struct {
	data  []float32
	shape Shape
}

func (o sliceOutputs) Tensor(i int) ([]float32, Shape, error) {
	t, ok := o[i]
	if !ok {
		return nil, nil, fmt.Errorf("tensor %d is not an output", i)
	}
	return t.data, t.shape, nil
}

// goldenPhoto is a real photo: the left half of the first gallery image (a hand before
// polish), decoded by the pipeline.
func goldenPhoto(t *testing.T) *image.RGBA {
	data, err := os.ReadFile(filepath.Join("..", "docs", "gallery", "hand1-before-after.jpg"))
	require.NoError(t, err)
	p, err := Decode(data, Limits{})
	require.NoError(t, err)
	return p.RGBA()
}

// crop scales nothing: it copies a w x h window from the photo's middle, so the pixels
// are the photo's own.
func crop(src *image.RGBA, w, h int) *image.RGBA {
	b := src.Bounds()
	x0, y0 := b.Min.X+b.Dx()/4, b.Min.Y+b.Dy()/3
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), src, image.Pt(x0, y0), draw.Src)
	return out
}

// syntheticLogits makes n logit maps (the second, for mirror TTA, is the first mirrored
// with its own noise) holding what a postprocessor must get right: nails with soft rims, two
// that touch (each one's mask must reject the other's pixels), a faint blob under the
// mean-probability bar, a speck under the area bar, and a blob in the letterbox padding.
func syntheticLogits(w, h, n int, g Geometry, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	stride := float64(g.InW) / float64(w)
	// The photo's part of the map, in map pixels.
	x0, y0 := float64(g.DX)/stride, float64(g.DY)/stride
	pw, ph := float64(g.NW)/stride, float64(g.NH)/stride
	type blob struct{ cx, cy, rx, ry, peak float64 }
	blobs := []blob{
		{x0 + 0.25*pw, y0 + 0.3*ph, 0.06 * pw, 0.10 * ph, 7},
		{x0 + 0.25*pw + 0.11*pw, y0 + 0.32*ph, 0.05 * pw, 0.09 * ph, 6}, // touches the first
		{x0 + 0.7*pw, y0 + 0.6*ph, 0.08 * pw, 0.06 * ph, 8},
		{x0 + 0.45*pw, y0 + 0.8*ph, 0.07 * pw, 0.05 * ph, 0.9},  // faint: mean probability < 0.85
		{x0 + 0.85*pw, y0 + 0.15*ph, 0.012 * pw, 0.012 * ph, 5}, // a speck
	}
	if g.DY > 0 || g.DX > 0 { // in the padding, where no nail can be
		blobs = append(blobs, blob{x0 * 0.5, y0 * 0.5, 3, 3, 9})
	}
	out := make([]float32, n*w*h)
	base := make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := -6.0
			for _, b := range blobs {
				dx, dy := (float64(x)+0.5-b.cx)/b.rx, (float64(y)+0.5-b.cy)/b.ry
				d := dx*dx + dy*dy
				v = math.Max(v, b.peak*(1-d)+(-6)*d*0.5)
			}
			base[y*w+x] = float32(v)
		}
	}
	for i := 0; i < n; i++ {
		m := out[i*w*h : (i+1)*w*h]
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sx := x
				if i == 1 {
					sx = w - 1 - x
				}
				m[y*w+x] = base[y*w+sx] + float32(rng.NormFloat64()*0.8)
			}
		}
	}
	return out
}

func writeInputSpec(w *goldenWriter, in InputSpec) {
	bgr, stretch := 0, 0
	if in.Color == ColorBGR {
		bgr = 1
	}
	if in.Resize == ResizeStretch {
		stretch = 1
	}
	w.ints("input", int64(in.Width), int64(in.Height), int64(bgr), int64(stretch))
	w.f64("norm", in.Scale, in.Mean[0], in.Mean[1], in.Mean[2], in.Std[0], in.Std[1], in.Std[2], in.Pad[0], in.Pad[1], in.Pad[2])
}

func writeGeometry(w *goldenWriter, g Geometry) {
	w.ints("geometry", int64(g.DX), int64(g.DY), int64(g.NW), int64(g.NH), int64(g.MaskScale))
	w.f64("footprint", g.SX, g.SY)
}

// checkGolden compares a recomputed golden with the committed one (or rewrites it with
// -cuda-goldens.update): integers and bytes exactly, floats within what the C++ side
// allows, so a platform whose Go fuses multiply-adds (arm64) still passes.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(cudaGoldenDir, name+".bin")
	if *updateCUDAGoldens {
		require.NoError(t, os.MkdirAll(cudaGoldenDir, 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err, "run: go test ./nails -run TestCUDAGoldens -cuda-goldens.update")
	want, err := readGolden(data)
	require.NoError(t, err)
	have, err := readGolden(got)
	require.NoError(t, err)
	require.Equal(t, len(want), len(have), "%s: records (rerun with -cuda-goldens.update after an intended change)", name)
	for i, r := range want {
		h := have[i]
		require.Equal(t, r.name, h.name)
		require.Equal(t, r.kind, h.kind, r.name)
		switch r.kind {
		case 'd', 'f':
			require.Len(t, h.floats, len(r.floats), r.name)
			for k := range r.floats {
				if !assert.InDelta(t, r.floats[k], h.floats[k], 1e-6, "%s %s[%d] (rerun with -cuda-goldens.update after an intended change)", name, r.name, k) {
					return
				}
			}
		default:
			require.Equal(t, r.raw, h.raw, "%s %s (rerun with -cuda-goldens.update after an intended change)", name, r.name)
		}
	}
}

type goldenWriter struct{ buf bytes.Buffer }

func (w *goldenWriter) head(name string, kind byte, n int) {
	if w.buf.Len() == 0 {
		w.buf.WriteString("NTGOLD1\n")
	}
	_ = binary.Write(&w.buf, binary.LittleEndian, uint16(len(name)))
	w.buf.WriteString(name)
	w.buf.WriteByte(kind)
	_ = binary.Write(&w.buf, binary.LittleEndian, uint64(n))
}

func (w *goldenWriter) ints(name string, v ...int64) {
	w.head(name, 'i', len(v))
	_ = binary.Write(&w.buf, binary.LittleEndian, v)
}

func (w *goldenWriter) f64(name string, v ...float64) {
	w.head(name, 'd', len(v))
	_ = binary.Write(&w.buf, binary.LittleEndian, v)
}

func (w *goldenWriter) f32(name string, v []float32) {
	w.head(name, 'f', len(v))
	_ = binary.Write(&w.buf, binary.LittleEndian, v)
}

func (w *goldenWriter) bytes(name string, v []byte) {
	w.head(name, 'b', len(v))
	w.buf.Write(v)
}

type goldenRecord struct {
	name   string
	kind   byte
	raw    []byte
	floats []float64
}

func readGolden(data []byte) ([]goldenRecord, error) {
	r := bytes.NewReader(data)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "NTGOLD1\n" {
		return nil, fmt.Errorf("not a golden file")
	}
	var out []goldenRecord
	for r.Len() > 0 {
		var nameLen uint16
		if err := binary.Read(r, binary.LittleEndian, &nameLen); err != nil {
			return nil, err
		}
		name := make([]byte, nameLen)
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, err
		}
		kind, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		var n uint64
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, err
		}
		size := map[byte]uint64{'i': 8, 'd': 8, 'f': 4, 'b': 1}[kind]
		if size == 0 || n > uint64(r.Len())/size {
			return nil, fmt.Errorf("record %q: kind %q, %d values", name, kind, n)
		}
		raw := make([]byte, n*size)
		if _, err := io.ReadFull(r, raw); err != nil {
			return nil, err
		}
		rec := goldenRecord{name: string(name), kind: kind, raw: raw}
		for i := uint64(0); i < n; i++ {
			switch kind {
			case 'd':
				rec.floats = append(rec.floats, math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			case 'f':
				rec.floats = append(rec.floats, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))))
			}
		}
		out = append(out, rec)
	}
	return out, nil
}
