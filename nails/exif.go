package nails

import (
	"bytes"
	"encoding/binary"
)

// EXIF orientation: only tag 0x0112 of IFD0 is read. Every offset is bounds-checked,
// since the bytes come straight from clients (FuzzOrientation covers this file).

const tagOrientation = 0x0112

// jpegOrientation scans a JPEG's APP1 "Exif" segment. 1 (no transform) when absent or
// malformed: a broken EXIF block should never make a readable photo fail.
func jpegOrientation(data []byte) int {
	o := 1
	jpegSegments(data, func(marker byte, seg []byte) bool {
		if marker == 0xDA { // start of scan: no EXIF after the image data begins
			return false
		}
		if v, ok := exifOrientation(marker, seg); ok {
			o = v
			return false
		}
		return true
	})
	return o
}

// exifOrientation reads the orientation of a JPEG APP1 "Exif" segment; ok is false for
// any other segment.
func exifOrientation(marker byte, seg []byte) (o int, ok bool) {
	if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
		return tiffOrientation(seg[6:]), true
	}
	return 0, false
}

// tiffOrientation reads the orientation from a TIFF-structured EXIF block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := 0; k < count; k++ {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) != tagOrientation {
			continue
		}
		typ, n := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if typ != 3 || n != 1 { // SHORT, one value, stored inline
			return 1
		}
		v := int(bo.Uint16(t[e+8:]))
		if v < 1 || v > 8 {
			return 1
		}
		return v
	}
	return 1
}

// pngOrientation reads an eXIf chunk, if any.
func pngOrientation(data []byte) int {
	const sig = 8
	i := sig
	for i+12 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[i:]))
		if n < 0 || i+12+n > len(data) {
			return 1
		}
		typ := string(data[i+4 : i+8])
		if typ == "eXIf" {
			return tiffOrientation(data[i+8 : i+8+n])
		}
		if typ == "IDAT" || typ == "IEND" {
			return 1
		}
		i += 12 + n
	}
	return 1
}

// webpOrientation reads a RIFF "EXIF" chunk, if any.
func webpOrientation(data []byte) int {
	i := 12
	for i+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[i+4:]))
		if n < 0 || i+8+n > len(data) {
			return 1
		}
		if string(data[i:i+4]) == "EXIF" {
			chunk := data[i+8 : i+8+n]
			chunk = bytes.TrimPrefix(chunk, []byte("Exif\x00\x00"))
			return tiffOrientation(chunk)
		}
		i += 8 + n + n%2
	}
	return 1
}
