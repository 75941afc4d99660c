//go:build !noturbojpeg

// In-place JPEG editing for render (see jpeg_edit.h): the photo's DCT coefficients are
// read once, the few regions under the nails are decoded, painted (in Go) and encoded
// again with the photo's own quantisation, and their blocks replace the originals.
// Everything else is copied coefficient for coefficient.

#include "jpeg_edit.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <turbojpeg.h>

// libjpeg reports errors by calling error_exit, which must not return: it jumps back
// to the setjmp of the call that was running, with the message saved.
typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
} nt_err_mgr;

static void nt_error_exit(j_common_ptr c) {
	nt_err_mgr* e = (nt_err_mgr*)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jump, 1);
}

// Warnings (corrupt data that libjpeg would decode around) are errors: a photo is
// never painted half-decoded.
static void nt_emit_message(j_common_ptr c, int level) {
	if (level < 0) nt_error_exit(c);
}

static void nt_init_err(nt_err_mgr* e) {
	jpeg_std_error(&e->pub);
	e->pub.error_exit = nt_error_exit;
	e->pub.emit_message = nt_emit_message;
	e->msg[0] = 0;
}

struct nt_jpeg_edit {
	struct jpeg_decompress_struct d;
	nt_err_mgr err;
	jvirt_barray_ptr* coefs;
	JOCTET* icc;
	unsigned int icc_len;
	// Held while a put writes its blocks into coefs. Reading coefs needs no lock: the
	// arrays are all in memory and fully defined once read, so libjpeg's accessor
	// returns row pointers without touching the array's state.
	pthread_mutex_t place;
};

static void set_err(char* err, int errlen, const char* what, const char* msg) {
	snprintf(err, errlen, "%s: %s", what, msg);
}

nt_jpeg_edit* nt_edit_open(const unsigned char* buf, unsigned long len, nt_edit_info* info, char* err, int errlen) {
	nt_jpeg_edit* e = calloc(1, sizeof(*e));
	if (!e) {
		set_err(err, errlen, "open", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&e->place, NULL);
	nt_init_err(&e->err);
	e->d.err = &e->err.pub;
	if (setjmp(e->err.jump)) {
		set_err(err, errlen, "read coefficients", e->err.msg);
		nt_edit_close(e);
		return NULL;
	}
	jpeg_create_decompress(&e->d);
	jpeg_mem_src(&e->d, buf, len);
	jpeg_save_markers(&e->d, JPEG_APP0 + 2, 0xFFFF);  // ICC profile chunks
	jpeg_read_header(&e->d, TRUE);
	memset(info, 0, sizeof(*info));
	info->width = (int)e->d.image_width;
	info->height = (int)e->d.image_height;
	// Editable: three-component YCbCr whose chroma is sampled once per MCU (4:4:4,
	// 4:2:2, 4:2:0, 4:4:0), the layout the region round trip reproduces exactly.
	int ok = e->d.num_components == 3 && e->d.jpeg_color_space == JCS_YCbCr && e->d.data_precision == 8 &&
	         e->d.comp_info[1].h_samp_factor == 1 && e->d.comp_info[1].v_samp_factor == 1 &&
	         e->d.comp_info[2].h_samp_factor == 1 && e->d.comp_info[2].v_samp_factor == 1 &&
	         e->d.comp_info[0].h_samp_factor <= 2 && e->d.comp_info[0].v_samp_factor <= 2;
	if (ok) e->coefs = jpeg_read_coefficients(&e->d);
	// Every byte of buf the handle needs has been read (the coefficients up to EOI,
	// the ICC chunks into saved markers): forget it, so the handle keeps no pointer to
	// the caller's (Go's) memory after this call. A later read would find no data and
	// fail (warnings are errors here), never touch buf.
	e->d.src->next_input_byte = NULL;
	e->d.src->bytes_in_buffer = 0;
	// The quantisation tables are known once the coefficients are read. A zero entry
	// decodes (it multiplies) but cannot encode (it divides): such files are painted
	// whole.
	for (int ci = 0; ok && ci < 3; ci++) {
		JQUANT_TBL* q = e->d.comp_info[ci].quant_table;
		for (int k = 0; q && k < DCTSIZE2; k++) ok = ok && q->quantval[k] != 0;
		ok = ok && q != NULL;
	}
	info->editable = ok;
	if (!ok) return e;
	info->mcu_w = 8 * e->d.comp_info[0].h_samp_factor;
	info->mcu_h = 8 * e->d.comp_info[0].v_samp_factor;
	if (!jpeg_read_icc_profile(&e->d, &e->icc, &e->icc_len)) {
		e->icc = NULL;
		e->icc_len = 0;
	}
	return e;
}

void nt_edit_close(nt_jpeg_edit* e) {
	if (!e) return;
	jpeg_destroy_decompress(&e->d);
	pthread_mutex_destroy(&e->place);
	free(e->icc);
	free(e);
}

// The compressor settings of the photo: the quantisation table each component was
// coded with (as latched by the decoder) and its sampling, so that blocks encoded here
// decode like the photo's own.
static void copy_tables(struct jpeg_decompress_struct* d, struct jpeg_compress_struct* c) {
	for (int ci = 0; ci < 3; ci++) {
		if (!c->quant_tbl_ptrs[ci]) c->quant_tbl_ptrs[ci] = jpeg_alloc_quant_table((j_common_ptr)c);
		memcpy(c->quant_tbl_ptrs[ci]->quantval, d->comp_info[ci].quant_table->quantval,
		       sizeof(c->quant_tbl_ptrs[ci]->quantval));
		c->quant_tbl_ptrs[ci]->sent_table = FALSE;
		c->comp_info[ci].quant_tbl_no = ci;
		c->comp_info[ci].h_samp_factor = d->comp_info[ci].h_samp_factor;
		c->comp_info[ci].v_samp_factor = d->comp_info[ci].v_samp_factor;
	}
}

// Copies whole MCUs of blocks between coefficient arrays: n_x x n_y MCUs from MCU
// (sx, sy) of src to MCU (dx, dy) of dst.
static void copy_mcus(j_common_ptr sc, jvirt_barray_ptr* src, j_common_ptr dc, jvirt_barray_ptr* dst,
                      jpeg_component_info* comps, int sx, int sy, int dx, int dy, int n_x, int n_y) {
	for (int ci = 0; ci < 3; ci++) {
		int hs = comps[ci].h_samp_factor, vs = comps[ci].v_samp_factor;
		for (int r = 0; r < n_y * vs; r++) {
			JBLOCKARRAY s =
			        (*sc->mem->access_virt_barray)(sc, src[ci], (JDIMENSION)(sy * vs + r), 1, FALSE);
			JBLOCKARRAY d = (*dc->mem->access_virt_barray)(dc, dst[ci], (JDIMENSION)(dy * vs + r), 1, TRUE);
			memcpy(d[0] + dx * hs, s[0] + sx * hs, sizeof(JBLOCK) * n_x * hs);
		}
	}
}

// check_region reports whether (x, y, w, h) is a region nt_edit_get and nt_edit_put
// can work on: inside the photo, its origin on the MCU grid, its size whole MCUs unless
// it reaches the right or bottom edge. The callers are trusted for nothing: a region off
// the grid would copy blocks to the wrong place, one outside the photo would read or
// write past the coefficient arrays. Arithmetic in long long, so no sum overflows.
static int check_region(const nt_jpeg_edit* e, long long x, long long y, long long w, long long h, const char* what,
                        char* err, int errlen) {
	if (!e || !e->coefs) {
		set_err(err, errlen, what, "the photo is not editable in place");
		return -1;
	}
	long long W = e->d.image_width, H = e->d.image_height;
	long long mw = 8LL * e->d.comp_info[0].h_samp_factor, mh = 8LL * e->d.comp_info[0].v_samp_factor;
	char msg[160];
	if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > W || y + h > H) {
		snprintf(msg, sizeof(msg), "region %lldx%lld at (%lld,%lld) is not inside the %lldx%lld photo", w, h, x,
		         y, W, H);
		set_err(err, errlen, what, msg);
		return -1;
	}
	if (x % mw || y % mh || (w % mw && x + w != W) || (h % mh && y + h != H)) {
		snprintf(msg, sizeof(msg), "region %lldx%lld at (%lld,%lld) is off the %lldx%lld MCU grid", w, h, x, y,
		         mw, mh);
		set_err(err, errlen, what, msg);
		return -1;
	}
	return 0;
}

int nt_edit_get(nt_jpeg_edit* e, int x, int y, int w, int h, unsigned char* rgba, char* err, int errlen) {
	if (check_region(e, x, y, w, h, "region", err, errlen) != 0) return -1;
	if (!rgba) {
		set_err(err, errlen, "region", "no output buffer");
		return -1;
	}
	struct jpeg_compress_struct c;
	nt_err_mgr cerr;
	unsigned char* mem = NULL;
	unsigned long mem_len = 0;
	tjhandle volatile tj = NULL;  // volatile: read after a longjmp
	memset(&c, 0, sizeof(c));     // so destroying it is safe whatever failed
	nt_init_err(&cerr);
	c.err = &cerr.pub;
	if (setjmp(cerr.jump)) {
		set_err(err, errlen, "region", cerr.msg);
		goto done;
	}
	// A small JPEG holding just the region's blocks, decoded by TurboJPEG: the same
	// IDCT, upsampling and colour conversion as a whole-photo decode (the region has an
	// MCU of context on every side, so upsampling at its edges matches too).
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &mem, &mem_len);
	jpeg_copy_critical_parameters(&e->d, &c);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.optimize_coding = FALSE;
	int mcu_w = 8 * e->d.comp_info[0].h_samp_factor, mcu_h = 8 * e->d.comp_info[0].v_samp_factor;
	int nx = (w + mcu_w - 1) / mcu_w, ny = (h + mcu_h - 1) / mcu_h;
	jvirt_barray_ptr arrays[3];
	for (int ci = 0; ci < 3; ci++) {
		int hs = c.comp_info[ci].h_samp_factor, vs = c.comp_info[ci].v_samp_factor;
		arrays[ci] = (*c.mem->request_virt_barray)((j_common_ptr)&c, JPOOL_IMAGE, TRUE, (JDIMENSION)(nx * hs),
		                                           (JDIMENSION)(ny * vs), (JDIMENSION)vs);
	}
	(*c.mem->realize_virt_arrays)((j_common_ptr)&c);
	copy_mcus((j_common_ptr)&e->d, e->coefs, (j_common_ptr)&c, arrays, e->d.comp_info, x / mcu_w, y / mcu_h, 0, 0,
	          nx, ny);
	jpeg_write_coefficients(&c, arrays);
	jpeg_finish_compress(&c);
	tj = tjInitDecompress();
	if (!tj || tjDecompress2(tj, mem, mem_len, rgba, w, 0, h, TJPF_RGBA, TJFLAG_STOPONWARNING) != 0) {
		set_err(err, errlen, "region decode", tjGetErrorStr2(tj));
		goto done;
	}
	if (tj) tjDestroy(tj);
	jpeg_destroy_compress(&c);
	free(mem);
	return 0;
done:
	if (tj) tjDestroy(tj);
	jpeg_destroy_compress(&c);
	free(mem);
	return -1;
}

int nt_edit_put(nt_jpeg_edit* e, int x, int y, int w, int h, const unsigned char* rgba, int ix, int iy, int iw, int ih,
                char* err, int errlen) {
	if (check_region(e, x, y, w, h, "region encode", err, errlen) != 0 ||
	    check_region(e, ix, iy, iw, ih, "region encode", err, errlen) != 0)
		return -1;
	if (!rgba || ix < x || iy < y || (long long)ix + iw > (long long)x + w ||
	    (long long)iy + ih > (long long)y + h) {
		set_err(err, errlen, "region encode", "the inner region is not inside the painted one");
		return -1;
	}
	struct jpeg_compress_struct c;
	struct jpeg_decompress_struct d;
	nt_err_mgr cerr, derr;
	unsigned char* mem = NULL;
	unsigned long mem_len = 0;
	volatile int rc = -1;  // volatile: read after a longjmp
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	nt_init_err(&cerr);
	nt_init_err(&derr);
	c.err = &cerr.pub;
	d.err = &derr.pub;
	if (setjmp(cerr.jump)) {
		set_err(err, errlen, "region encode", cerr.msg);
		goto done;
	}
	if (setjmp(derr.jump)) {
		set_err(err, errlen, "region read back", derr.msg);
		goto done;
	}
	jpeg_create_decompress(&d);
	// Encode the painted region with the photo's tables and sampling (islow DCT, the
	// accurate one), read its coefficients back and put the inner MCUs in place.
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &mem, &mem_len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 4;
	c.in_color_space = JCS_EXT_RGBA;
	jpeg_set_defaults(&c);
	jpeg_set_colorspace(&c, JCS_YCbCr);
	copy_tables(&e->d, &c);
	c.dct_method = JDCT_ISLOW;
	c.optimize_coding = FALSE;
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(rgba + (size_t)c.next_scanline * w * 4);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_mem_src(&d, mem, mem_len);
	jpeg_read_header(&d, TRUE);
	jvirt_barray_ptr* region = jpeg_read_coefficients(&d);
	int mcu_w = 8 * e->d.comp_info[0].h_samp_factor, mcu_h = 8 * e->d.comp_info[0].v_samp_factor;
	int nx = (iw + mcu_w - 1) / mcu_w, ny = (ih + mcu_h - 1) / mcu_h;
	pthread_mutex_lock(&e->place);
	copy_mcus((j_common_ptr)&d, region, (j_common_ptr)&e->d, e->coefs, e->d.comp_info, (ix - x) / mcu_w,
	          (iy - y) / mcu_h, ix / mcu_w, iy / mcu_h, nx, ny);
	pthread_mutex_unlock(&e->place);
	rc = 0;
done:
	jpeg_destroy_compress(&c);
	jpeg_destroy_decompress(&d);
	free(mem);
	return rc;
}

// The smallest Exif APP1 that says orientation o: "Exif\0\0", a little-endian TIFF
// header and one IFD with the one tag.
static void write_orientation(struct jpeg_compress_struct* c, int o) {
	static const unsigned char head[] = {'E', 'x', 'i', 'f', 0,    0,    'I', 'I', 42, 0, 8, 0,
	                                     0,   0,   1,   0,   0x12, 0x01, 3,   0,   1,  0, 0, 0};
	unsigned char app1[sizeof(head) + 8];
	memcpy(app1, head, sizeof(head));
	unsigned char* p = app1 + sizeof(head);
	p[0] = (unsigned char)o;
	memset(p + 1, 0, 7);  // value padding, then "no next IFD"
	jpeg_write_marker(c, JPEG_APP0 + 1, app1, sizeof(app1));
}

// complete reports whether Huffman table t has a code for every symbol a sequential
// 8-bit scan can emit: DC magnitude categories 0-11, or AC end-of-block, the 16-zero
// run and every (run 0-15, size 1-10) pair. Any coefficients can be written with such a
// table, painted ones included.
static int complete(const JHUFF_TBL* t, int ac) {
	if (!t) return 0;
	unsigned char seen[256] = {0};
	int n = 0;
	for (int i = 1; i <= 16; i++) n += t->bits[i];
	if (n > 256) return 0;
	for (int i = 0; i < n; i++) seen[t->huffval[i]] = 1;
	if (!ac) {
		for (int s = 0; s <= 11; s++)
			if (!seen[s]) return 0;
		return 1;
	}
	if (!seen[0x00] || !seen[0xF0]) return 0;
	for (int r = 0; r < 16; r++)
		for (int s = 1; s <= 10; s++)
			if (!seen[r << 4 | s]) return 0;
	return 1;
}

static void copy_huff(j_common_ptr c, JHUFF_TBL** dst, const JHUFF_TBL* src) {
	if (!src) return;
	if (!*dst) *dst = jpeg_alloc_huff_table(c);
	memcpy((*dst)->bits, src->bits, sizeof(src->bits));
	memcpy((*dst)->huffval, src->huffval, sizeof(src->huffval));
	(*dst)->sent_table = FALSE;
}

// reuse_huffman gives c the photo's own Huffman tables when they are complete (camera
// and most encoders' standard tables are), so the file is written in one pass: fitting
// tables to the photo (optimize_coding) costs a second pass over every coefficient of a
// 12 MP photo, about as long as the writing itself. It reports whether it did.
static int reuse_huffman(const struct jpeg_decompress_struct* d, struct jpeg_compress_struct* c) {
	if (d->progressive_mode || d->arith_code || d->data_precision != 8 || d->num_components != c->num_components)
		return 0;
	for (int ci = 0; ci < d->num_components; ci++) {
		const jpeg_component_info* comp = &d->comp_info[ci];
		if (!complete(d->dc_huff_tbl_ptrs[comp->dc_tbl_no], 0) ||
		    !complete(d->ac_huff_tbl_ptrs[comp->ac_tbl_no], 1))
			return 0;
	}
	for (int i = 0; i < NUM_HUFF_TBLS; i++) {
		copy_huff((j_common_ptr)c, &c->dc_huff_tbl_ptrs[i], d->dc_huff_tbl_ptrs[i]);
		copy_huff((j_common_ptr)c, &c->ac_huff_tbl_ptrs[i], d->ac_huff_tbl_ptrs[i]);
	}
	for (int ci = 0; ci < d->num_components; ci++) {
		c->comp_info[ci].dc_tbl_no = d->comp_info[ci].dc_tbl_no;
		c->comp_info[ci].ac_tbl_no = d->comp_info[ci].ac_tbl_no;
	}
	return 1;
}

// The edited file goes straight into the caller's buffer (Go memory, so the result
// needs no copy out of C): a destination manager over a fixed array, which reports a
// full one instead of growing it (jpeg_mem_dest would realloc-and-copy as it doubles,
// then the caller would copy the lot once more).
typedef struct {
	struct jpeg_destination_mgr pub;
	unsigned long cap;
	int full;
} nt_fixed_dest;

static void fixed_init(j_compress_ptr c) { (void)c; }

static boolean fixed_empty(j_compress_ptr c) {
	nt_fixed_dest* d = (nt_fixed_dest*)c->dest;
	nt_err_mgr* e = (nt_err_mgr*)c->err;
	d->full = 1;
	snprintf(e->msg, sizeof(e->msg), "output buffer of %lu bytes is full", d->cap);
	longjmp(e->jump, 1);
}

static void fixed_term(j_compress_ptr c) { (void)c; }

int nt_edit_finish(nt_jpeg_edit* e, int orientation, unsigned char* dst, unsigned long cap, unsigned long* size,
                   char* err, int errlen) {
	struct jpeg_compress_struct c;
	nt_err_mgr cerr;
	nt_fixed_dest dest;
	memset(&c, 0, sizeof(c));
	memset(&dest, 0, sizeof(dest));
	nt_init_err(&cerr);
	c.err = &cerr.pub;
	if (setjmp(cerr.jump)) {
		set_err(err, errlen, "write", cerr.msg);
		jpeg_destroy_compress(&c);
		if (dest.full) {
			*size = 0;
			return 1;
		}
		return -1;
	}
	jpeg_create_compress(&c);
	dest.pub.next_output_byte = dst;
	dest.pub.free_in_buffer = cap;
	dest.pub.init_destination = fixed_init;
	dest.pub.empty_output_buffer = fixed_empty;
	dest.pub.term_destination = fixed_term;
	dest.cap = cap;
	c.dest = &dest.pub;
	jpeg_copy_critical_parameters(&e->d, &c);
	// The photo's own Huffman tables where they can code anything (one pass, and the
	// file is as small as the photo was); otherwise tables fitted to this photo, one
	// more pass over coefficients already in memory, for the same size.
	c.optimize_coding = reuse_huffman(&e->d, &c) ? FALSE : TRUE;
	jpeg_write_coefficients(&c, e->coefs);
	// Metadata kept: the ICC profile (colours mean nothing without it) and the
	// orientation (the pixels stay as stored); nothing else of the photo's (GPS,
	// camera, thumbnails) goes back out.
	if (orientation > 1 && orientation <= 8) write_orientation(&c, orientation);
	if (e->icc) jpeg_write_icc_profile(&c, e->icc, e->icc_len);
	jpeg_finish_compress(&c);
	*size = cap - dest.pub.free_in_buffer;
	jpeg_destroy_compress(&c);
	return 0;
}
