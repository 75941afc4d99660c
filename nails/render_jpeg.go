//go:build !noturbojpeg

package nails

/*
#cgo LDFLAGS: -ljpeg -lturbojpeg
#include <stdlib.h>
#include "jpeg_edit.h"
*/
import "C"

import (
	"fmt"
	"image"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sync/errgroup"
)

// RenderJPEG paints m onto the nails of res in a JPEG photo and returns the painted JPEG,
// decoding and encoding only the 8x8 blocks the paint reaches. The rest of the file keeps
// its DCT coefficients: no generational loss outside the nails, and for a 12 MP photo a
// fraction of the time and memory of Render plus EncodeJPEG (which decode and encode
// every pixel). Repainted blocks use the photo's own quantisation tables.
//
// The output keeps the pixels as stored, with the photo's EXIF orientation and ICC
// profile and none of its other metadata (location, camera, thumbnail). ok is false, with
// a nil error, for JPEGs it does not edit (greyscale, CMYK, chroma sampled more than once
// per MCU): use Render and EncodeJPEG for those.
func RenderJPEG(data []byte, res *Result, m Material) (out []byte, ok bool, err error) {
	if sniff(data) != "jpeg" {
		return nil, false, nil
	}
	if err := m.withDefaults().Validate(); err != nil {
		return nil, false, err
	}
	var errbuf [256]C.char
	var info C.nt_edit_info
	buf := (*C.uchar)(unsafe.Pointer(&data[0]))
	e := C.nt_edit_open(buf, C.ulong(len(data)), &info, &errbuf[0], C.int(len(errbuf)))
	if e == nil {
		return nil, false, editErr(&errbuf)
	}
	defer C.nt_edit_close(e)
	if info.editable == 0 {
		return nil, false, nil
	}
	o := jpegOrientation(data)
	w, h := int(info.width), int(info.height)
	if d := displayRect(o, image.Rect(0, 0, w, h), w, h); d.Dx() != res.Width || d.Dy() != res.Height {
		return nil, false, fmt.Errorf("nails: render: the photo is %dx%d, the segmentation is of a %dx%d one", d.Dx(), d.Dy(), res.Width, res.Height)
	}
	// Two phases, each region on its own goroutine: read and paint every region, then
	// write every one back. No region is written before all are read, so the context
	// MCUs a read decodes around its region are always the photo's own (jpeg_edit.h).
	ed := jpegEdit{e: e, o: o, w: w, h: h, mcuW: int(info.mcu_w), mcuH: int(info.mcu_h)}
	regions := editRegions(res, o, w, h, ed.mcuW, ed.mcuH)
	stored := make([]*image.RGBA, len(regions))
	defer func() {
		for _, img := range stored {
			if img != nil {
				regionPool.Put(&img.Pix)
			}
		}
	}()
	if err := ed.readAndPaint(regions, stored, res, m); err != nil {
		return nil, false, err
	}
	if err := ed.writeBack(regions, stored); err != nil {
		return nil, false, err
	}
	return ed.finish(len(data))
}

// jpegEdit is a JPEG open for in-place editing (nt_edit_open), with what RenderJPEG's
// phases need of it: its orientation, stored size and MCU size.
type jpegEdit struct {
	e          *C.nt_jpeg_edit
	o          int // EXIF orientation
	w, h       int // stored size
	mcuW, mcuH int
}

// readAndPaint decodes every region, with an MCU of context around it, into stored[i]
// (from regionPool) and paints its nails there.
func (ed jpegEdit) readAndPaint(regions []editRegion, stored []*image.RGBA, res *Result, m Material) error {
	var read errgroup.Group
	read.SetLimit(runtime.GOMAXPROCS(0))
	for i, r := range regions {
		read.Go(func() error {
			// An MCU of context on every side (upsampling at the region's edges reads it),
			// which keeps the region's origin on the MCU grid: an MCU's width left and
			// right, its height above and below (they differ for 4:2:2 and 4:4:0).
			mw, mh := ed.mcuW, ed.mcuH
			outer := image.Rect(r.rect.Min.X-mw, r.rect.Min.Y-mh, r.rect.Max.X+mw, r.rect.Max.Y+mh).Intersect(image.Rect(0, 0, ed.w, ed.h))
			pix := regionPool.Get().(*[]byte)
			img := &image.RGBA{Pix: resize(pix, 4*outer.Dx()*outer.Dy()), Stride: 4 * outer.Dx(), Rect: outer}
			stored[i] = img
			var errbuf [256]C.char
			if C.nt_edit_get(ed.e, C.int(outer.Min.X), C.int(outer.Min.Y), C.int(outer.Dx()), C.int(outer.Dy()),
				(*C.uchar)(unsafe.Pointer(&img.Pix[0])), &errbuf[0], C.int(len(errbuf))) != 0 {
				return editErr(&errbuf)
			}
			return paintStored(img, ed.o, ed.w, ed.h, res, m, r.nails)
		})
	}
	return read.Wait()
}

// writeBack re-encodes each region's painted pixels (stored[i], without its context)
// into the photo's coefficients.
func (ed jpegEdit) writeBack(regions []editRegion, stored []*image.RGBA) error {
	var write errgroup.Group
	write.SetLimit(runtime.GOMAXPROCS(0))
	for i, r := range regions {
		write.Go(func() error {
			img := stored[i]
			var errbuf [256]C.char
			if C.nt_edit_put(ed.e, C.int(img.Rect.Min.X), C.int(img.Rect.Min.Y), C.int(img.Rect.Dx()), C.int(img.Rect.Dy()),
				(*C.uchar)(unsafe.Pointer(&img.Pix[0])), C.int(r.rect.Min.X), C.int(r.rect.Min.Y), C.int(r.rect.Dx()),
				C.int(r.rect.Dy()), &errbuf[0], C.int(len(errbuf))) != 0 {
				return editErr(&errbuf)
			}
			return nil
		})
	}
	return write.Wait()
}

// finish writes the edited file of a photo of n bytes, keeping its orientation (and ICC
// profile: jpeg_edit.h).
func (ed jpegEdit) finish(n int) ([]byte, bool, error) {
	var errbuf [256]C.char
	// The file is written into Go memory sized for it: the photo's own size (the same
	// coefficients and, usually, Huffman tables, minus the metadata dropped) with room
	// for repainted blocks that code longer. Too small, it is written again into twice
	// as much (the coefficients are still in memory); no photo here has needed that.
	for capacity := finishCapacity(n); ; capacity *= 2 {
		out := make([]byte, capacity)
		var size C.ulong
		switch C.nt_edit_finish(ed.e, C.int(ed.o), (*C.uchar)(unsafe.Pointer(&out[0])), C.ulong(len(out)), &size,
			&errbuf[0], C.int(len(errbuf))) {
		case 0:
			return out[:size:size], true, nil
		case 1:
			if capacity > maxFinishBytes {
				return nil, false, editErr(&errbuf)
			}
		default:
			return nil, false, editErr(&errbuf)
		}
	}
}

// finishCapacity is the first output buffer RenderJPEG gives a photo of n bytes (a
// variable so a test can start it small and exercise the retry).
var finishCapacity = func(n int) int { return n + n/4 + 64<<10 }

// maxFinishBytes bounds the retries: a render's file is never larger than this.
const maxFinishBytes = 1 << 30

// editErr is the error a jpeg_edit call wrote into errbuf.
func editErr(errbuf *[256]C.char) error {
	return wrap(ErrUndecodable, "jpeg: %s", C.GoString(&errbuf[0]))
}

// regionPool holds the RGBA buffers of painted regions between renders (a 12 MP
// photo's five nails are several megabytes of them).
var regionPool = sync.Pool{New: func() any { return new([]byte) }}

// editGetRegion opens data for in-place editing and decodes region r with nt_edit_get:
// a test helper (cgo cannot be used in _test files) for the C editor's own checks.
func editGetRegion(data []byte, r image.Rectangle) error {
	return withEditor(data, func(e *C.nt_jpeg_edit, errbuf *[256]C.char) C.int {
		pix := make([]byte, 4*max(1, r.Dx()*r.Dy()))
		return C.nt_edit_get(e, C.int(r.Min.X), C.int(r.Min.Y), C.int(r.Dx()), C.int(r.Dy()),
			(*C.uchar)(unsafe.Pointer(&pix[0])), &errbuf[0], C.int(len(errbuf)))
	})
}

// editPutRegion opens data for editing and writes a grey region r back into it,
// replacing the blocks of inner (for TestEditorRefusesBadRegions: the editor must
// refuse regions off the MCU grid, past the photo, or an inner region outside r).
func editPutRegion(data []byte, r, inner image.Rectangle) error {
	return withEditor(data, func(e *C.nt_jpeg_edit, errbuf *[256]C.char) C.int {
		pix := make([]byte, 4*max(1, r.Dx()*r.Dy()))
		for i := range pix {
			pix[i] = 128
		}
		return C.nt_edit_put(e, C.int(r.Min.X), C.int(r.Min.Y), C.int(r.Dx()), C.int(r.Dy()),
			(*C.uchar)(unsafe.Pointer(&pix[0])), C.int(inner.Min.X), C.int(inner.Min.Y), C.int(inner.Dx()),
			C.int(inner.Dy()), &errbuf[0], C.int(len(errbuf)))
	})
}

// withEditor opens data for editing, runs call (a C editor call returning 0 or -1) and
// closes it: the test helpers' common part.
func withEditor(data []byte, call func(e *C.nt_jpeg_edit, errbuf *[256]C.char) C.int) error {
	var errbuf [256]C.char
	var info C.nt_edit_info
	e := C.nt_edit_open((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), &info, &errbuf[0], C.int(len(errbuf)))
	if e == nil {
		return editErr(&errbuf)
	}
	defer C.nt_edit_close(e)
	if call(e, &errbuf) != 0 {
		return editErr(&errbuf)
	}
	return nil
}
