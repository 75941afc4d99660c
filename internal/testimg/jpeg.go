package testimg

import (
	"bytes"
	"encoding/binary"
)

// ProgressiveJPEG is a JPEG whose frame header claims w x h with comps components,
// progressive (SOF2), followed by `scans` scans of a few bytes of entropy data each (a
// stuffed 0xFF and a restart marker included) and no real image: a few hundred bytes
// that a decoder trusting the header answers with w*h*comps coefficient buffers, and
// one that walks every scan with minutes of CPU.
func ProgressiveJPEG(w, h, comps, scans int) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8})
	seg := func(marker byte, payload []byte) {
		b.Write([]byte{0xFF, marker})
		_ = binary.Write(&b, binary.BigEndian, uint16(len(payload)+2))
		b.Write(payload)
	}
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps)}
	for c := 1; c <= comps; c++ {
		sof = append(sof, byte(c), 0x11, 0)
	}
	seg(0xC2, sof)
	for i := 0; i < scans; i++ {
		seg(0xDA, []byte{1, 1, 0, 0, 0, 0})
		b.Write([]byte{0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3})
	}
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}
