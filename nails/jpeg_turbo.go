//go:build !noturbojpeg

package nails

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>

// Decodes a YCbCr JPEG at w x h (its size, or a DCT-scaled size TJSCALED gives) into
// dst, one block of three unpadded-row planes (tjBufSizeYUV2 with pad 1) in Go memory.
// Returns 0, or -1 with err filled.
static int nt_tj_decode_yuv(const unsigned char* buf, unsigned long len, unsigned char* dst, int w, int h,
                            char* err, int errlen) {
	tjhandle tj = tjInitDecompress();
	if (!tj) { snprintf(err, errlen, "%s", tjGetErrorStr2(NULL)); return -1; }
	// Warnings (a truncated file) are errors: nailtrt never paints a half-decoded photo.
	int rc = tjDecompressToYUV2(tj, buf, len, dst, w, 1, h, TJFLAG_STOPONWARNING);
	if (rc != 0) snprintf(err, errlen, "%s", tjGetErrorStr2(tj));
	tjDestroy(tj);
	return rc;
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
// TJPF_CMYK or TJPF_RGBA) at w x h (its size or a DCT-scaled one) into dst.
static int nt_tj_decode_packed(const unsigned char* buf, unsigned long len, unsigned char* dst, int w, int h, int pf,
                               char* err, int errlen) {
	tjhandle tj = tjInitDecompress();
	if (!tj) { snprintf(err, errlen, "%s", tjGetErrorStr2(NULL)); return -1; }
	int rc = tjDecompress2(tj, buf, len, dst, w, 0, h, pf, TJFLAG_STOPONWARNING);
	if (rc != 0) snprintf(err, errlen, "%s", tjGetErrorStr2(tj));
	tjDestroy(tj);
	return rc;
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
// 1.2 MP photo, straight into the *image.YCbCr planes the preprocessing fast path reads,
// in Go memory (no copy). eighths (1..8) scales the decode by eighths/8 in the DCT
// (libjpeg-turbo's scaled IDCTs): a 12 MP photo decoded at 1/4 for a 512 px model costs
// a fraction of the full decode, most of what is left being the entropy decoding.
// Greyscale, CMYK/YCCK and subsamplings TurboJPEG cannot name are decoded by
// libjpeg-turbo too, into packed pixels: image/jpeg holds every coefficient of a
// progressive CMYK file in Go memory (over 1 GB for 40 MP) and is far slower on
// crafted multi-scan files. Build with -tags noturbojpeg to use image/jpeg only.
//
// A YCbCr photo's planes go into *planes when it is not nil (grown as needed), so a
// caller that drops the photo soon can reuse them; packed decodes allocate.
func decodeJPEG(data []byte, hdr Header, eighths int, planes *[]byte) (image.Image, error) {
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
		sw, sh := scaledSize(hdr.Width, hdr.Height, eighths)
		return decodePacked(data, sw, sh, cs)
	}
	sw, sh := scaledSize(int(w), int(h), eighths)
	ratio, ok := turboRatios[samp]
	if cs != C.TJCS_YCbCr || !ok {
		return decodePacked(data, sw, sh, cs)
	}
	// TurboJPEG pads planes to whole chroma blocks (a 101x67 4:2:0 image has a 102x68 Y
	// plane); image.YCbCr takes the padded strides as they are.
	var strides, rows [3]int
	size := 0
	for c := range 3 {
		strides[c] = int(C.tjPlaneWidth(C.int(c), C.int(sw), samp))
		rows[c] = int(C.tjPlaneHeight(C.int(c), C.int(sh), samp))
		size += strides[c] * rows[c]
	}
	if planes == nil {
		planes = new([]byte)
	}
	block := resize(planes, size)
	if C.nt_tj_decode_yuv(buf, C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&block[0])), C.int(sw), C.int(sh),
		&errbuf[0], C.int(len(errbuf))) != 0 {
		return nil, errors.New("libjpeg-turbo: " + C.GoString(&errbuf[0]))
	}
	ySize, cSize := strides[0]*rows[0], strides[1]*rows[1]
	return &image.YCbCr{
		Y:       block[:ySize:ySize],
		Cb:      block[ySize : ySize+cSize : ySize+cSize],
		Cr:      block[ySize+cSize : ySize+2*cSize],
		YStride: strides[0], CStride: strides[1],
		SubsampleRatio: ratio,
		Rect:           image.Rect(0, 0, sw, sh),
	}, nil
}

// decodePacked decodes to image.Gray (greyscale files), image.CMYK (CMYK and YCCK,
// with the Adobe inversion image/jpeg applies) or image.RGBA (everything else), at
// w x h (the photo's size or a DCT-scaled one).
func decodePacked(data []byte, w, h int, cs C.int) (image.Image, error) {
	var errbuf [256]C.char
	r := image.Rect(0, 0, w, h)
	var pix []byte
	var img image.Image
	pf := C.int(C.TJPF_RGBA)
	switch cs {
	case C.TJCS_GRAY:
		g := image.NewGray(r)
		pf, pix, img = C.TJPF_GRAY, g.Pix, g
	case C.TJCS_CMYK, C.TJCS_YCCK:
		c := image.NewCMYK(r)
		pf, pix, img = C.TJPF_CMYK, c.Pix, c
	default:
		c := image.NewRGBA(r)
		pix, img = c.Pix, c
	}
	if C.nt_tj_decode_packed((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&pix[0])),
		C.int(w), C.int(h), pf, &errbuf[0], C.int(len(errbuf))) != 0 {
		return nil, errors.New("libjpeg-turbo: " + C.GoString(&errbuf[0]))
	}
	if pf == C.TJPF_CMYK {
		// Adobe CMYK JPEGs store 255 for no ink; image/jpeg inverts them, and so do we.
		for i, v := range pix {
			pix[i] = 255 - v
		}
	}
	return img, nil
}

// jpegScales are the DCT scalings (in eighths) decodeJPEG uses, smallest first: the
// power-of-two ones, which libjpeg-turbo decodes with its fast reduced IDCTs.
var jpegScales = []int{1, 2, 4, 8}

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

// Chroma samplings libjpeg-turbo writes, for tests that must cover each (TJSAMP codes).
var turboSamplings = map[string]int{"4:4:4": C.TJSAMP_444, "4:2:2": C.TJSAMP_422, "4:2:0": C.TJSAMP_420,
	"4:4:0": C.TJSAMP_440, "4:1:1": C.TJSAMP_411}

// encodeJPEGSampled is EncodeJPEG with another chroma sampling (a turboSamplings
// value), for tests that must cover each.
func encodeJPEGSampled(img *image.RGBA, quality, samp int) ([]byte, error) {
	return encodeTurbo(img, quality, C.int(samp))
}

// EncodeJPEG compresses img (4:2:0) with libjpeg-turbo, about 6x faster than
// image/jpeg on a 1.2 MP render. quality is 1..100. JPEG has no alpha: transparent
// pixels are flattened onto white.
func EncodeJPEG(img *image.RGBA, quality int) ([]byte, error) {
	return encodeTurbo(flatten(img), quality, C.TJSAMP_420) // transparent pixels onto white, not black
}

// encodeTurbo compresses img with chroma sampling samp; quality is clamped to 1..100.
func encodeTurbo(img *image.RGBA, quality int, samp C.int) ([]byte, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, errors.New("libjpeg-turbo: empty image")
	}
	var errbuf [256]C.char
	var size C.ulong
	pix := img.Pix[img.PixOffset(b.Min.X, b.Min.Y):]
	out := C.nt_tj_encode((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(b.Dx()), C.int(img.Stride), C.int(b.Dy()), C.TJPF_RGBA, samp,
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
