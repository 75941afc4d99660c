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
		return nil, false, wrap(ErrUndecodable, "jpeg: %s", C.GoString(&errbuf[0]))
	}
	defer C.nt_edit_close(e)
	if info.editable == 0 {
		return nil, false, nil
	}
	cerr := func() error { return wrap(ErrUndecodable, "jpeg: %s", C.GoString(&errbuf[0])) }
	o := jpegOrientation(data)
	w, h := int(info.width), int(info.height)
	if d := displayRect(o, image.Rect(0, 0, w, h), w, h); d.Dx() != res.Width || d.Dy() != res.Height {
		return nil, false, fmt.Errorf("nails: render: the photo is %dx%d, the segmentation is of a %dx%d one", d.Dx(), d.Dy(), res.Width, res.Height)
	}
	// Regions are read and written back one at a time (libjpeg's arrays are not for
	// concurrent use) and painted in parallel, the part that takes longest.
	regions := editRegions(res, o, w, h, int(info.mcu_w), int(info.mcu_h))
	stored := make([]*image.RGBA, len(regions))
	for i, r := range regions {
		// An MCU of context on every side (upsampling at the region's edges reads it),
		// which keeps the region's origin on the MCU grid.
		outer := r.rect.Inset(-int(info.mcu_w)).Intersect(image.Rect(0, 0, w, h))
		img := &image.RGBA{Pix: make([]byte, 4*outer.Dx()*outer.Dy()), Stride: 4 * outer.Dx(), Rect: outer}
		if C.nt_edit_get(e, C.int(outer.Min.X), C.int(outer.Min.Y), C.int(outer.Dx()), C.int(outer.Dy()),
			(*C.uchar)(unsafe.Pointer(&img.Pix[0])), &errbuf[0], C.int(len(errbuf))) != 0 {
			return nil, false, cerr()
		}
		stored[i] = img
	}
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, r := range regions {
		g.Go(func() error { return paintStored(stored[i], o, w, h, res, m, r.nails) })
	}
	if err := g.Wait(); err != nil {
		return nil, false, err
	}
	for i, r := range regions {
		img := stored[i]
		if C.nt_edit_put(e, C.int(img.Rect.Min.X), C.int(img.Rect.Min.Y), C.int(img.Rect.Dx()), C.int(img.Rect.Dy()),
			(*C.uchar)(unsafe.Pointer(&img.Pix[0])), C.int(r.rect.Min.X), C.int(r.rect.Min.Y), C.int(r.rect.Dx()),
			C.int(r.rect.Dy()), &errbuf[0], C.int(len(errbuf))) != 0 {
			return nil, false, cerr()
		}
	}
	var size C.ulong
	mem := C.nt_edit_finish(e, C.int(o), &size, &errbuf[0], C.int(len(errbuf)))
	if mem == nil {
		return nil, false, cerr()
	}
	defer C.free(unsafe.Pointer(mem))
	return C.GoBytes(unsafe.Pointer(mem), C.int(size)), true, nil
}
