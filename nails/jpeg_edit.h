// In-place JPEG editing (jpeg_edit.c): repaint regions of a JPEG without decoding or
// encoding the rest. Regions are in stored pixels, MCU-aligned (x, y multiples of
// mcu_w, mcu_h; w, h too unless they reach the right or bottom edge) and inside the
// photo: get and put check that themselves and fail with a message otherwise. Every call
// fills err on failure; the handle stays valid until nt_edit_close.
//
// Concurrency: nt_edit_get and nt_edit_put may run on several threads at once, each
// with its own region and err buffer (they share only the coefficients: gets read them,
// and each put's write into them is serialised by the handle's lock). Regions must not
// overlap, and every get must finish before the first put, or a region's context MCUs
// could be another region's painted ones. open, finish and close run alone.
#ifndef NAILTRT_JPEG_EDIT_H
#define NAILTRT_JPEG_EDIT_H

typedef struct nt_jpeg_edit nt_jpeg_edit;

typedef struct {
	int width, height;  // stored size
	int mcu_w, mcu_h;   // MCU size in pixels (luma sampling x 8)
	int editable;       // 0: not a layout nt_edit_* handles; close and decode in full
} nt_edit_info;

// Reads the photo's header and, when editable, all its DCT coefficients. buf is read
// during the call only: the handle keeps no pointer to it. NULL on error.
nt_jpeg_edit* nt_edit_open(const unsigned char* buf, unsigned long len, nt_edit_info* info, char* err, int errlen);

// Decodes the region (x, y, w, h) to RGBA (w*h*4 bytes at rgba) as a whole-photo decode
// would. Returns 0, or -1.
int nt_edit_get(nt_jpeg_edit* e, int x, int y, int w, int h, unsigned char* rgba, char* err, int errlen);

// Encodes the RGBA region (x, y, w, h) with the photo's quantisation and sampling and
// replaces the photo's blocks of the inner region (ix, iy, iw, ih), which it contains.
int nt_edit_put(nt_jpeg_edit* e, int x, int y, int w, int h, const unsigned char* rgba, int ix, int iy, int iw, int ih,
                char* err, int errlen);

// Writes the edited photo (baseline, the photo's Huffman tables or optimised ones, its
// ICC profile and an Exif orientation tag when orientation is 2..8) into dst, which holds
// cap bytes, and sets *size. Returns 0; 1 when the file would not fit in cap (nothing
// else is wrong: call again with a larger dst); -1 on any other error.
int nt_edit_finish(nt_jpeg_edit* e, int orientation, unsigned char* dst, unsigned long cap, unsigned long* size,
                   char* err, int errlen);

void nt_edit_close(nt_jpeg_edit* e);

#endif
