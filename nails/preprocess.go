package nails

import (
	"fmt"
	"image"
	"math"
	"sync"
)

// Geometry relates photo pixels to model-input pixels. Coordinates are continuous: pixel
// i spans [i, i+1), so photo = (model - D) * S and model = photo / S + D, which is the
// convention PIL (the training pipeline) resizes with.
type Geometry struct {
	SrcW, SrcH     int     // displayed photo size
	InW, InH       int     // model input size
	DX, DY, NW, NH int     // where the photo lands inside the input
	SX, SY         float64 // photo pixels per model pixel
	// MaskScale is the photo pixels per mask cell of the masks decoded in this geometry
	// (Mask.Scale): half a model pixel, rounded down, at least 1.
	MaskScale int
}

// NewGeometry places a srcW x srcH photo into the model input: letterbox keeps the
// aspect ratio and centres it (the rest is padding), stretch fills the input.
func NewGeometry(srcW, srcH int, in InputSpec) Geometry {
	g := Geometry{SrcW: srcW, SrcH: srcH, InW: in.Width, InH: in.Height}
	if in.Resize == ResizeStretch {
		g.NW, g.NH = in.Width, in.Height
	} else {
		s := math.Min(float64(in.Width)/float64(srcW), float64(in.Height)/float64(srcH))
		// Round half to even, as Python's round() does in training.
		g.NW = max(1, int(math.RoundToEven(float64(srcW)*s)))
		g.NH = max(1, int(math.RoundToEven(float64(srcH)*s)))
		g.NW, g.NH = min(g.NW, in.Width), min(g.NH, in.Height)
		g.DX, g.DY = (in.Width-g.NW)/2, (in.Height-g.NH)/2
	}
	g.SX = float64(srcW) / float64(g.NW)
	g.SY = float64(srcH) / float64(g.NH)
	g.MaskScale = max(1, int(math.Min(g.SX, g.SY)/2))
	return g
}

// PhotoX and PhotoY map model coordinates to photo coordinates.
func (g Geometry) PhotoX(mx float64) float64 { return (mx - float64(g.DX)) * g.SX }
func (g Geometry) PhotoY(my float64) float64 { return (my - float64(g.DY)) * g.SY }

// ModelX and ModelY map photo coordinates to model coordinates.
func (g Geometry) ModelX(px float64) float64 { return px/g.SX + float64(g.DX) }
func (g Geometry) ModelY(py float64) float64 { return py/g.SY + float64(g.DY) }

// normaliser turns 0..255 RGB into the model's input values, channel order included.
type normaliser struct {
	mul, add [3]float32 // per output channel
	src      [3]int     // output channel c takes input channel src[c]
}

func newNormaliser(in InputSpec) normaliser {
	var n normaliser
	for c := range 3 {
		n.mul[c] = float32(in.Scale / in.Std[c])
		n.add[c] = float32(-in.Mean[c] / in.Std[c])
		n.src[c] = c
	}
	if in.Color == ColorBGR {
		// mean and std are given in the model's channel order, so only the source swaps.
		n.src = [3]int{2, 1, 0}
	}
	return n
}

// Preprocess writes the photo into dst as the model's NCHW float32 input (one image).
// dst is typically the runner's pinned input buffer, so nothing is copied afterwards.
// Downscaling averages each output pixel's footprint (an area filter, close to PIL's
// antialiased bilinear used in training); upscaling is bilinear.
func Preprocess(p *Photo, g Geometry, in InputSpec, dst []float32) error {
	return preprocess(p, g, in, dst, nil)
}

// preprocess is Preprocess that, when mirrored is not nil, also writes the input flipped
// left to right into mirrored (mirror TTA's second image). An upright JPEG's fast path
// writes both images in its one pass over the photo; the other paths mirror dst after.
func preprocess(p *Photo, g Geometry, in InputSpec, dst, mirrored []float32) error {
	plane := g.InW * g.InH
	if len(dst) < 3*plane {
		return fmt.Errorf("nails: preprocess: input buffer holds %d floats, need %d", len(dst), 3*plane)
	}
	if mirrored != nil && len(mirrored) < 3*plane {
		return fmt.Errorf("nails: preprocess: mirror buffer holds %d floats, need %d", len(mirrored), 3*plane)
	}
	n := newNormaliser(in)
	var pad [3]float32
	for c := range 3 {
		pad[c] = float32(in.Pad[n.src[c]])*n.mul[c] + n.add[c]
	}
	// Padding rows and columns (the mirror image's side columns swap widths).
	right := g.InW - g.DX - g.NW
	for c := range 3 {
		padPlane(dst[c*plane:(c+1)*plane], g, g.DX, right, pad[c])
		if mirrored != nil {
			padPlane(mirrored[c*plane:(c+1)*plane], g, right, g.DX, pad[c])
		}
	}
	if p.Reduced() {
		// Read the smaller decode: the same placement in the input, footprints in its pixels.
		p = p.stored()
		g.SrcW, g.SrcH = p.Width, p.Height
		g.SX, g.SY = float64(p.Width)/float64(g.NW), float64(p.Height)/float64(g.NH)
	}
	if img, ok := p.Src.(*image.YCbCr); ok && p.Orientation <= 1 && g.SX >= 1 && g.SY >= 1 {
		ycbcrBoxResample(img, g, n, dst, mirrored)
		return nil
	}
	if g.SX >= 1 && g.SY >= 1 {
		boxResample(p, g, n, dst)
	} else {
		bilinearResample(p.RGBA(), g, n, dst)
	}
	if mirrored != nil {
		w := g.InW
		spreadRows(3*g.InH, 3*minRowsPerCore, func(lo, hi int) {
			mirror(dst[lo*w:hi*w], mirrored[lo*w:hi*w], w)
		})
	}
	return nil
}

// padPlane fills one channel's padding: the rows above and below the photo, and left and
// right columns beside it.
func padPlane(out []float32, g Geometry, left, right int, v float32) {
	for y := 0; y < g.InH; y++ {
		row := out[y*g.InW : (y+1)*g.InW]
		if y < g.DY || y >= g.DY+g.NH {
			fill(row, v)
			continue
		}
		fill(row[:left], v)
		fill(row[g.InW-right:], v)
	}
}

func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// summer adds up the RGB values of a stored-image rectangle.
type summer interface {
	sum(r image.Rectangle) (r_, g, b float32, n int)
}

func newSummer(p *Photo) (summer, *Photo) {
	switch img := p.Src.(type) {
	case *image.YCbCr:
		return ycbcrSummer{img}, p
	case *image.RGBA:
		return rgbaSummer{img.Pix, img.Stride, img.Rect.Min}, p
	case *image.Gray:
		return graySummer{img}, p
	}
	// Anything else (paletted GIF, CMYK JPEG, 16-bit PNG, and NRGBA: a PNG or WebP with
	// an alpha channel, whose translucent pixels must be seen premultiplied, over black,
	// as the bilinear path and the runner's preprocessing see them): the oriented RGBA copy.
	rgba := p.RGBA()
	q := &Photo{Src: rgba, Orientation: 1, Width: p.Width, Height: p.Height}
	return rgbaSummer{rgba.Pix, rgba.Stride, rgba.Rect.Min}, q
}

func boxResample(p *Photo, g Geometry, n normaliser, dst []float32) {
	s, p := newSummer(p)
	plane := g.InW * g.InH
	// Photo-space spans of every output column and row.
	xs := spans(g.NW, g.SX, g.SrcW)
	ys := spans(g.NH, g.SY, g.SrcH)
	spreadRows(g.NH, minRowsPerCore, func(lo, hi int) {
		for oy := lo; oy < hi; oy++ {
			base := (oy+g.DY)*g.InW + g.DX
			for ox := 0; ox < g.NW; ox++ {
				disp := image.Rect(xs[ox][0], ys[oy][0], xs[ox][1], ys[oy][1])
				r, gg, b, cnt := s.sum(p.srcRect(disp))
				inv := 1 / float32(cnt)
				rgb := [3]float32{r * inv, gg * inv, b * inv}
				i := base + ox
				dst[i] = rgb[n.src[0]]*n.mul[0] + n.add[0]
				dst[plane+i] = rgb[n.src[1]]*n.mul[1] + n.add[1]
				dst[2*plane+i] = rgb[n.src[2]]*n.mul[2] + n.add[2]
			}
		}
	})
}

// spans returns, for each of n output pixels, the photo pixels [a,b) its footprint covers.
func spans(n int, scale float64, limit int) [][2]int {
	out := make([][2]int, n)
	for i := range out {
		a := int(float64(i) * scale)
		b := int(math.Ceil(float64(i+1) * scale))
		a = min(max(a, 0), limit-1)
		b = min(max(b, a+1), limit)
		out[i] = [2]int{a, b}
	}
	return out
}

// columnSumsPool holds ycbcrBoxResample's per-piece column sums (a few KB each) between
// requests.
var columnSumsPool = sync.Pool{New: func() any { return new([]uint32) }}

// ycbcrBoxResample is the fast path for the common case, an upright JPEG: separable box
// sums over the Y and chroma planes, reading each stored sample once, and one colour
// conversion per output pixel, written to dst and, when mirrored is not nil, to its
// mirrored place there.
func ycbcrBoxResample(img *image.YCbCr, g Geometry, n normaliser, dst, mirrored []float32) {
	plane := g.InW * g.InH
	w := img.Rect.Dx()
	xs := spans(g.NW, g.SX, g.SrcW)
	ys := spans(g.NH, g.SY, g.SrcH)
	// Chroma subsampling factors.
	hd, vd := 1, 1
	switch img.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hd = 2
	case image.YCbCrSubsampleRatio420:
		hd, vd = 2, 2
	case image.YCbCrSubsampleRatio440:
		vd = 2
	case image.YCbCrSubsampleRatio411:
		hd = 4
	case image.YCbCrSubsampleRatio410:
		hd, vd = 4, 2
	}
	cw := (w + hd - 1) / hd
	// Per output column, once: its luma and chroma spans and the reciprocals of their
	// widths, so the per-pixel loop has no integer division and one float division less.
	bgr := n.src[0] == 2 // newNormaliser's only other order is the identity
	cols := make([]boxColumn, g.NW)
	for ox, x := range xs {
		xa, xb := x[0], x[1]
		cxa, cxb := xa/hd, (xb-1)/hd+1
		cols[ox] = boxColumn{xa, xb, cxa, cxb, 1 / float32(xb-xa), 1 / float32(cxb-cxa)}
	}
	// Output rows are independent: each piece sums its own input rows into its own
	// column sums.
	spreadRows(g.NH, minRowsPerCore, func(lo, hi int) {
		sums := columnSumsPool.Get().(*[]uint32)
		defer columnSumsPool.Put(sums)
		col := resize(sums, w+2*cw)
		colY, colCb, colCr := col[:w:w], col[w:w+cw:w+cw], col[w+cw:]
		for oy := lo; oy < hi; oy++ {
			ya, yb := ys[oy][0], ys[oy][1]
			clear(colY)
			for y := ya; y < yb; y++ {
				off := img.YOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
				for x, v := range img.Y[off : off+w] {
					colY[x] += uint32(v)
				}
			}
			ca, cb := ya/vd, (yb-1)/vd+1
			clear(colCb)
			clear(colCr)
			for cy := ca; cy < cb; cy++ {
				off := img.COffset(img.Rect.Min.X, img.Rect.Min.Y+cy*vd)
				cbRow, crRow := img.Cb[off:off+cw], img.Cr[off:off+cw]
				for x := range cw {
					colCb[x] += uint32(cbRow[x])
					colCr[x] += uint32(crRow[x])
				}
			}
			rowY, rowC := 1/float32(yb-ya), 1/float32(cb-ca)
			m0, m1, m2, a0, a1, a2 := n.mul[0], n.mul[1], n.mul[2], n.add[0], n.add[1], n.add[2]
			base := (oy+g.DY)*g.InW + g.DX
			out0, out1, out2 := dst[base:base+g.NW], dst[plane+base:plane+base+g.NW], dst[2*plane+base:2*plane+base+g.NW]
			// The mirror image's row holds the same pixels right to left, its left padding
			// as wide as dst's right padding.
			var mir0, mir1, mir2 []float32
			if mirrored != nil {
				mb := (oy+g.DY)*g.InW + g.InW - g.DX - g.NW
				mir0, mir1, mir2 = mirrored[mb:mb+g.NW], mirrored[plane+mb:plane+mb+g.NW], mirrored[2*plane+mb:2*plane+mb+g.NW]
			}
			for ox, c := range cols {
				var ys uint32
				for _, v := range colY[c.xa:c.xb] {
					ys += v
				}
				var cbs, crs uint32
				for x := c.cxa; x < c.cxb; x++ {
					cbs += colCb[x]
					crs += colCr[x]
				}
				yv := float32(ys) * (rowY * c.invY)
				cinv := rowC * c.invC
				cbv, crv := float32(cbs)*cinv-128, float32(crs)*cinv-128
				r, gg, b := clamp255(yv+1.402*crv), clamp255(yv-0.344136*cbv-0.714136*crv), clamp255(yv+1.772*cbv)
				if bgr {
					r, b = b, r
				}
				v0, v1, v2 := r*m0+a0, gg*m1+a1, b*m2+a2
				out0[ox], out1[ox], out2[ox] = v0, v1, v2
				if mir0 != nil {
					j := len(mir0) - 1 - ox
					mir0[j], mir1[j], mir2[j] = v0, v1, v2
				}
			}
		}
	})
}

// minRowsPerCore is the fewest output rows worth a goroutine of their own in the
// resamplers (a 512-wide row is a few microseconds of work).
const minRowsPerCore = 32

// boxColumn is one output column of ycbcrBoxResample: the luma samples [xa,xb) and the
// chroma samples [cxa,cxb) its footprint covers, with 1/width of each.
type boxColumn struct {
	xa, xb, cxa, cxb int
	invY, invC       float32
}

type ycbcrSummer struct{ img *image.YCbCr }

func (s ycbcrSummer) sum(r image.Rectangle) (float32, float32, float32, int) {
	img := s.img
	var ys int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Y[img.YOffset(r.Min.X, y) : img.YOffset(r.Min.X, y)+r.Dx()]
		for _, v := range row {
			ys += int(v)
		}
	}
	// Chroma: average over the chroma samples the rectangle touches. YCbCr -> RGB is
	// affine, so converting the averages equals averaging the converted pixels (up to
	// clamping): one conversion per output pixel instead of one per input pixel.
	var cbs, crs, cn int
	c0 := img.COffset(r.Min.X, r.Min.Y)
	cx1 := img.COffset(r.Max.X-1, r.Min.Y) - c0 + 1
	lastRow := -1
	for y := r.Min.Y; y < r.Max.Y; y++ {
		off := img.COffset(r.Min.X, y)
		if off == lastRow {
			continue
		}
		lastRow = off
		for k := 0; k < cx1; k++ {
			cbs += int(img.Cb[off+k])
			crs += int(img.Cr[off+k])
			cn++
		}
	}
	n := r.Dx() * r.Dy()
	yv := float32(ys) / float32(n)
	cb := float32(cbs)/float32(cn) - 128
	cr := float32(crs)/float32(cn) - 128
	R := clamp255(yv + 1.402*cr)
	G := clamp255(yv - 0.344136*cb - 0.714136*cr)
	B := clamp255(yv + 1.772*cb)
	return R, G, B, 1
}

func clamp255(v float32) float32 { return clamp(v, 0, 255) }

type rgbaSummer struct {
	pix    []uint8
	stride int
	min    image.Point
}

func (s rgbaSummer) sum(r image.Rectangle) (float32, float32, float32, int) {
	var rs, gs, bs int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		o := (y-s.min.Y)*s.stride + (r.Min.X-s.min.X)*4
		row := s.pix[o : o+4*r.Dx()]
		for i := 0; i+3 < len(row); i += 4 {
			rs += int(row[i])
			gs += int(row[i+1])
			bs += int(row[i+2])
		}
	}
	return float32(rs), float32(gs), float32(bs), r.Dx() * r.Dy()
}

type graySummer struct{ img *image.Gray }

func (s graySummer) sum(r image.Rectangle) (float32, float32, float32, int) {
	var t int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		o := s.img.PixOffset(r.Min.X, y)
		for _, v := range s.img.Pix[o : o+r.Dx()] {
			t += int(v)
		}
	}
	return float32(t), float32(t), float32(t), r.Dx() * r.Dy()
}

// bilinearResample upsamples the oriented RGBA photo (small photos only).
func bilinearResample(img *image.RGBA, g Geometry, n normaliser, dst []float32) {
	plane := g.InW * g.InH
	w, h := img.Rect.Dx(), img.Rect.Dy()
	spreadRows(g.NH, minRowsPerCore, func(lo, hi int) {
		for oy := lo; oy < hi; oy++ {
			fy := (float64(oy)+0.5)*g.SY - 0.5
			y0 := int(math.Floor(fy))
			wy := float32(fy - float64(y0))
			y0c, y1c := clamp(y0, 0, h-1), clamp(y0+1, 0, h-1)
			for ox := 0; ox < g.NW; ox++ {
				fx := (float64(ox)+0.5)*g.SX - 0.5
				x0 := int(math.Floor(fx))
				wx := float32(fx - float64(x0))
				x0c, x1c := clamp(x0, 0, w-1), clamp(x0+1, 0, w-1)
				var rgb [3]float32
				for c := range 3 {
					p00 := float32(img.Pix[y0c*img.Stride+4*x0c+c])
					p01 := float32(img.Pix[y0c*img.Stride+4*x1c+c])
					p10 := float32(img.Pix[y1c*img.Stride+4*x0c+c])
					p11 := float32(img.Pix[y1c*img.Stride+4*x1c+c])
					top := p00 + (p01-p00)*wx
					bot := p10 + (p11-p10)*wx
					rgb[c] = top + (bot-top)*wy
				}
				i := (oy+g.DY)*g.InW + g.DX + ox
				dst[i] = rgb[n.src[0]]*n.mul[0] + n.add[0]
				dst[plane+i] = rgb[n.src[1]]*n.mul[1] + n.add[1]
				dst[2*plane+i] = rgb[n.src[2]]*n.mul[2] + n.add[2]
			}
		}
	})
}

// mirror writes src (rows of width w) into dst flipped left to right. The loop runs
// down the output row so the compiler can drop both bounds checks (1.7x faster than
// indexing out[w-1-x] for a 512x512x3 tensor).
func mirror(src, dst []float32, w int) {
	for r := 0; r+w <= len(src); r += w {
		row, out := src[r:r+w], dst[r:r+w]
		for j := len(out) - 1; j >= 0; j-- {
			out[j] = row[len(row)-1-j]
		}
	}
}
