//go:build !noturbojpeg

package nails

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>

// Decodes a YCbCr JPEG into three planes in one malloc'd block the caller frees.
// Returns NULL and fills err on failure.
// strides and rows receive each plane's layout: TurboJPEG pads planes to whole chroma
// blocks (a 101x67 4:2:0 image has a 102x68 Y plane).
static unsigned char* nt_tj_decode_yuv(const unsigned char* buf, unsigned long len, int w, int h, int samp,
                                       int* strides, int* rows, char* err, int errlen) {
	tjhandle tj = tjInitDecompress();
	if (!tj) { snprintf(err, errlen, "%s", tjGetErrorStr2(NULL)); return NULL; }
	unsigned long sizes[3];
	unsigned long total = 0;
	for (int c = 0; c < 3; c++) {
		strides[c] = tjPlaneWidth(c, w, samp);
		rows[c] = tjPlaneHeight(c, h, samp);
		sizes[c] = (unsigned long)strides[c] * rows[c];
		total += sizes[c];
	}
	unsigned char* block = malloc(total);
	if (!block) { tjDestroy(tj); snprintf(err, errlen, "out of memory"); return NULL; }
	unsigned char* planes[3] = {block, block + sizes[0], block + sizes[0] + sizes[1]};
	// Warnings (a truncated file) are errors: nailtrt never paints a half-decoded photo.
	if (tjDecompressToYUVPlanes(tj, buf, len, planes, w, strides, h, TJFLAG_STOPONWARNING) != 0) {
		snprintf(err, errlen, "%s", tjGetErrorStr2(tj));
		free(block);
		tjDestroy(tj);
		return NULL;
	}
	tjDestroy(tj);
	return block;
}

// Compresses packed pixels of format pf (TJPF_RGBA; TJPF_CMYK in tests) with the given
// subsampling. Returns a buffer to release with tjFree.
static unsigned char* nt_tj_encode(const unsigned char* pix, int w, int pitch, int h, int pf, int samp, int quality,
                                   unsigned long* size, char* err, int errlen) {
	tjhandle tj = tjInitCompress();
	if (!tj) { snprintf(err, errlen, "%s", tjGetErrorStr2(NULL)); return NULL; }
	unsigned char* out = NULL;
	*size = 0;
	if (tjCompress2(tj, pix, w, pitch, h, pf, &out, size, samp, quality, 0) != 0) {
		snprintf(err, errlen, "%s", tjGetErrorStr2(tj));
		if (out) tjFree(out);
		out = NULL;
	}
	tjDestroy(tj);
	return out;
}

// Decodes any JPEG libjpeg-turbo reads into packed pixels of format pf (TJPF_GRAY,
// TJPF_CMYK or TJPF_RGBA) in one malloc'd block the caller frees.
static unsigned char* nt_tj_decode_packed(const unsigned char* buf, unsigned long len, int w, int h, int pf,
                                          char* err, int errlen) {
	tjhandle tj = tjInitDecompress();
	if (!tj) { snprintf(err, errlen, "%s", tjGetErrorStr2(NULL)); return NULL; }
	unsigned char* out = malloc((size_t)w * h * tjPixelSize[pf]);
	if (!out) { tjDestroy(tj); snprintf(err, errlen, "out of memory"); return NULL; }
	if (tjDecompress2(tj, buf, len, out, w, 0, h, pf, TJFLAG_STOPONWARNING) != 0) {
		snprintf(err, errlen, "%s", tjGetErrorStr2(tj));
		free(out);
		tjDestroy(tj);
		return NULL;
	}
	tjDestroy(tj);
	return out;
}

static int nt_tj_header(const unsigned char* buf, unsigned long len, int* w, int* h, int* samp, int* cs,
                        char* err, int errlen) {
	tjhandle tj = tjInitDecompress();
	if (!tj) { snprintf(err, errlen, "%s", tjGetErrorStr2(NULL)); return -1; }
	int rc = tjDecompressHeader3(tj, buf, len, w, h, samp, cs);
	if (rc != 0) snprintf(err, errlen, "%s", tjGetErrorStr2(tj));
	tjDestroy(tj);
	return rc;
}
*/
import "C"

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"unsafe"
)

// Subsampling codes of TurboJPEG 2.x (enum TJSAMP) and the matching Go ratios.
var turboRatios = map[C.int]image.YCbCrSubsampleRatio{
	C.TJSAMP_444: image.YCbCrSubsampleRatio444,
	C.TJSAMP_422: image.YCbCrSubsampleRatio422,
	C.TJSAMP_420: image.YCbCrSubsampleRatio420,
	C.TJSAMP_440: image.YCbCrSubsampleRatio440,
	C.TJSAMP_411: image.YCbCrSubsampleRatio411,
}

// decodeJPEG decodes with libjpeg-turbo (SIMD), about 2-3x faster than image/jpeg on a
// 1.2 MP photo, straight into the *image.YCbCr planes the preprocessing fast path reads.
// Greyscale, CMYK/YCCK and subsamplings TurboJPEG cannot name are decoded by
// libjpeg-turbo too, into packed pixels: image/jpeg holds every coefficient of a
// progressive CMYK file in Go memory (over 1 GB for 40 MP) and is far slower on
// crafted multi-scan files. Build with -tags noturbojpeg to use image/jpeg only.
func decodeJPEG(data []byte, hdr Header) (image.Image, error) {
	var errbuf [256]C.char
	var w, h, samp, cs C.int
	buf := (*C.uchar)(unsafe.Pointer(&data[0]))
	if C.nt_tj_header(buf, C.ulong(len(data)), &w, &h, &samp, &cs, &errbuf[0], C.int(len(errbuf))) != 0 {
		// TurboJPEG's header call refuses sampling factors it has no TJSAMP name for;
		// its decompressor reads them all. The frame header we parsed says the rest.
		cs = C.TJCS_RGB
		switch hdr.Components {
		case 1:
			cs = C.TJCS_GRAY
		case 4:
			cs = C.TJCS_CMYK
		}
		return decodePacked(data, hdr.Width, hdr.Height, cs)
	}
	ratio, ok := turboRatios[samp]
	if cs != C.TJCS_YCbCr || !ok {
		return decodePacked(data, int(w), int(h), cs)
	}
	var strides, rows [3]C.int
	block := C.nt_tj_decode_yuv(buf, C.ulong(len(data)), w, h, samp, &strides[0], &rows[0], &errbuf[0], C.int(len(errbuf)))
	if block == nil {
		return nil, errors.New("libjpeg-turbo: " + C.GoString(&errbuf[0]))
	}
	defer C.free(unsafe.Pointer(block))
	img := image.NewYCbCr(image.Rect(0, 0, int(w), int(h)), ratio)
	// Copy the planes into Go memory (TurboJPEG cannot write into Go memory through its
	// array of plane pointers under the cgo pointer rules), dropping TurboJPEG's padding.
	off := 0
	copyPlane := func(dst []byte, dstStride, c int) {
		srcStride, srcRows := int(strides[c]), int(rows[c])
		plane := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(block), off)), srcStride*srcRows)
		n := min(dstStride, srcStride)
		for r := 0; r < min(srcRows, len(dst)/dstStride); r++ {
			copy(dst[r*dstStride:r*dstStride+n], plane[r*srcStride:r*srcStride+n])
		}
		off += srcStride * srcRows
	}
	copyPlane(img.Y, img.YStride, 0)
	copyPlane(img.Cb, img.CStride, 1)
	copyPlane(img.Cr, img.CStride, 2)
	return img, nil
}

// decodePacked decodes to image.Gray (greyscale files), image.CMYK (CMYK and YCCK,
// with the Adobe inversion image/jpeg applies) or image.RGBA (everything else).
func decodePacked(data []byte, w, h int, cs C.int) (image.Image, error) {
	var errbuf [256]C.char
	pf, size := C.int(C.TJPF_RGBA), 4
	switch cs {
	case C.TJCS_GRAY:
		pf, size = C.TJPF_GRAY, 1
	case C.TJCS_CMYK, C.TJCS_YCCK:
		pf, size = C.TJPF_CMYK, 4
	}
	out := C.nt_tj_decode_packed((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), C.int(w), C.int(h), pf,
		&errbuf[0], C.int(len(errbuf)))
	if out == nil {
		return nil, errors.New("libjpeg-turbo: " + C.GoString(&errbuf[0]))
	}
	defer C.free(unsafe.Pointer(out))
	src := unsafe.Slice((*byte)(unsafe.Pointer(out)), w*h*size)
	r := image.Rect(0, 0, w, h)
	switch pf {
	case C.TJPF_GRAY:
		img := image.NewGray(r)
		copy(img.Pix, src)
		return img, nil
	case C.TJPF_CMYK:
		// Adobe CMYK JPEGs store 255 for no ink; image/jpeg inverts them, and so do we.
		img := image.NewCMYK(r)
		for i, v := range src {
			img.Pix[i] = 255 - v
		}
		return img, nil
	}
	img := image.NewRGBA(r)
	copy(img.Pix, src)
	return img, nil
}

// encodeCMYKJPEG makes a CMYK (YCCK) JPEG from packed CMYK pixels as stored in the
// file (255 = no ink): a test helper, since image/jpeg cannot encode CMYK.
func encodeCMYKJPEG(pix []byte, w, h int) []byte {
	var size C.ulong
	var errbuf [256]C.char
	out := C.nt_tj_encode((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(w), 0, C.int(h), C.TJPF_CMYK, C.TJSAMP_444, 90,
		&size, &errbuf[0], C.int(len(errbuf)))
	if out == nil {
		return nil
	}
	defer C.tjFree(out)
	return C.GoBytes(unsafe.Pointer(out), C.int(size))
}

// EncodeJPEG compresses img (4:2:0) with libjpeg-turbo, about 6x faster than
// image/jpeg on a 1.2 MP render. quality is 1..100. JPEG has no alpha: transparent
// pixels are flattened onto white.
func EncodeJPEG(img *image.RGBA, quality int) ([]byte, error) {
	img = flatten(img) // transparent pixels onto white, not black
	b := img.Bounds()
	if b.Empty() {
		return nil, errors.New("libjpeg-turbo: empty image")
	}
	var errbuf [256]C.char
	var size C.ulong
	pix := img.Pix[img.PixOffset(b.Min.X, b.Min.Y):]
	out := C.nt_tj_encode((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(b.Dx()), C.int(img.Stride), C.int(b.Dy()), C.TJPF_RGBA, C.TJSAMP_420,
		C.int(min(100, max(1, quality))), &size, &errbuf[0], C.int(len(errbuf)))
	if out == nil {
		return nil, errors.New("libjpeg-turbo: " + C.GoString(&errbuf[0]))
	}
	defer C.tjFree(out)
	return C.GoBytes(unsafe.Pointer(out), C.int(size)), nil
}

// turboBuilt says JPEGs go through libjpeg-turbo (tests compare it with image/jpeg).
const turboBuilt = true

// stdDecodeJPEG is image/jpeg, the reference the libjpeg-turbo paths are tested against.
func stdDecodeJPEG(data []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(data)) }

// cmykJPEG makes a CMYK JPEG for tests (image/jpeg cannot encode one).
func cmykJPEG(pix []byte, w, h int) []byte { return encodeCMYKJPEG(pix, w, h) }

// decodePackedRGB is the fallback path for colour JPEGs, exposed to tests.
func decodePackedRGB(data []byte, w, h int) (image.Image, error) {
	return decodePacked(data, w, h, C.TJCS_RGB)
}
