package nails

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"time"
)

// The binary form of a Result, for caches shared between processes (the server's Redis
// level). It carries everything a render needs (soft masks included), so a result
// segmented by one replica paints the same photo on another.
//
// Layout: "NTR" and a version byte; a header of varints (size, model, timings, nails:
// id, score bits, class, box, area, mask rectangle and scale, contours as delta-coded
// points);
// then every mask's alpha, concatenated in nail order, as one DEFLATE stream (soft masks
// are long runs of 0 and 255, which DEFLATE shrinks ~20x at its fastest level).
//
// Decoding trusts nothing: the size must be the photo's the caller holds, every count,
// rectangle and point is checked against that photo and every claimed byte against the
// limit (without overflow) before anything is allocated, and the alpha stream is read to
// exactly the size the rectangles say, so a corrupted or hostile value costs at most the
// limit it is given and decodes to nothing a response cannot serve (no NaN score, no
// point outside the photo). Whether a value belongs where it was found is the store's
// to check (the server's shared cache seals each value to its key).

// ResultCodecVersion is the layout version MarshalBinary writes and UnmarshalResult
// reads (2 added the mask scale). Stores that keep encoded results (the server's shared
// cache) put it in their keys, so replicas of different versions never read each
// other's values.
const ResultCodecVersion = 2

const (
	resultMagic = "NTR"
	// maxMaskScale bounds the photo pixels per mask cell a value may claim.
	maxMaskScale = 1024
	// maxCodecNails bounds the nail count a value may claim (far above any photo's).
	maxCodecNails = 4096
	maxModelID    = 512
)

// ErrBadResult is returned by UnmarshalResult for bytes that are not an encoded Result
// (or one from an unknown version).
var ErrBadResult = errors.New("nails: not an encoded result")

// MarshalBinary encodes r (see UnmarshalResult).
func (r *Result) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 256+64*len(r.Nails))
	b = append(b, resultMagic...)
	b = append(b, ResultCodecVersion)
	b = binary.AppendUvarint(b, uint64(r.Width))
	b = binary.AppendUvarint(b, uint64(r.Height))
	b = binary.AppendUvarint(b, uint64(len(r.Model)))
	b = append(b, r.Model...)
	for _, d := range []time.Duration{r.Timings.Decode, r.Timings.Preprocess, r.Timings.Infer, r.Timings.Postprocess} {
		b = binary.AppendVarint(b, int64(d))
	}
	b = binary.AppendUvarint(b, uint64(len(r.Nails)))
	alpha := 0
	for i := range r.Nails {
		n := &r.Nails[i]
		b = binary.AppendUvarint(b, uint64(n.ID))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(n.Score))
		b = binary.AppendUvarint(b, uint64(n.Class))
		b = appendRect(b, n.Box)
		b = binary.AppendUvarint(b, uint64(n.Area))
		if n.Mask == nil {
			b = append(b, 0)
		} else {
			gw, gh := n.Mask.Cells()
			if len(n.Mask.Alpha) != gw*gh || n.Mask.scale() > maxMaskScale {
				return nil, fmt.Errorf("nails: nail %d mask has %d alpha bytes for a %v rectangle at scale %d",
					n.ID, len(n.Mask.Alpha), n.Mask.Rect, n.Mask.Scale)
			}
			b = append(b, 1)
			b = appendRect(b, n.Mask.Rect)
			b = binary.AppendUvarint(b, uint64(n.Mask.Scale))
			alpha += len(n.Mask.Alpha)
		}
		b = binary.AppendUvarint(b, uint64(len(n.Contours)))
		for _, c := range n.Contours {
			b = append(b, boolByte(c.Hole))
			b = binary.AppendUvarint(b, uint64(len(c.Points)))
			prev := image.Point{}
			for _, p := range c.Points {
				b = binary.AppendVarint(b, int64(p.X-prev.X))
				b = binary.AppendVarint(b, int64(p.Y-prev.Y))
				prev = p
			}
		}
	}
	buf := bytes.NewBuffer(b)
	if alpha > 0 {
		zw, _ := flate.NewWriter(buf, flate.BestSpeed) // the level is valid: no error
		for i := range r.Nails {
			if m := r.Nails[i].Mask; m != nil {
				if _, err := zw.Write(m.Alpha); err != nil {
					return nil, err
				}
			}
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// UnmarshalResult decodes what MarshalBinary wrote, for a photo of size (as displayed,
// after EXIF orientation: the Result's Width and Height); a value for any other size is
// refused before anything is allocated. limit bounds the memory the decoded Result may
// hold (Result.Bytes); a value claiming more is refused before it is allocated. Errors
// wrap ErrBadResult.
func UnmarshalResult(data []byte, size image.Point, limit int) (*Result, error) {
	d := resultDecoder{limit: limit, mem: budget{left: limit}}
	r, err := d.head(data, size)
	if err != nil {
		return nil, err
	}
	count := d.count(maxCodecNails)
	if d.err != nil {
		return nil, d.err
	}
	// Every size below is claimed against the budget before it is allocated.
	if !d.mem.take(1, 128) || !d.mem.take(count, 96) {
		return nil, fmt.Errorf("%w: %d nails need more than the %d-byte limit", ErrBadResult, count, limit)
	}
	alpha := 0
	r.Nails = make([]Nail, count)
	for i := range r.Nails {
		n, err := d.nail(&r.Nails[i])
		if err != nil {
			return nil, err
		}
		alpha += n
	}
	if alpha > 0 {
		if err := readAlpha(d.b, r.Nails, alpha); err != nil {
			return nil, err
		}
	} else if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadResult, len(d.b))
	}
	return r, nil
}

// resultDecoder reads one encoded Result: a codecReader, with the photo every value is
// checked against and the budget every allocation is claimed from (head sets the photo).
type resultDecoder struct {
	codecReader
	photo image.Rectangle
	// Contours run along pixel corners: from (0,0) to (Width,Height) inclusive.
	corners image.Rectangle
	pixels  int
	mem     budget
	limit   int // for the messages: mem holds what is left of it
}

// head reads what comes before the nails (magic, version, size, model, timings). Its
// error is the magic's, the version's or the size's; the others stay in d.err.
func (d *resultDecoder) head(data []byte, size image.Point) (*Result, error) {
	if !bytes.HasPrefix(data, []byte(resultMagic)) || len(data) < 4 {
		return nil, fmt.Errorf("%w: no %q header", ErrBadResult, resultMagic)
	}
	if v := data[3]; v != ResultCodecVersion {
		return nil, fmt.Errorf("%w: version %d (this build reads %d)", ErrBadResult, v, ResultCodecVersion)
	}
	d.b = data[4:]
	r := &Result{Width: d.count(math.MaxInt32), Height: d.count(math.MaxInt32)}
	if d.err == nil && (r.Width != size.X || r.Height != size.Y) {
		// Checked first: every later bound (rectangles, areas, points) is the photo's,
		// so a small value claiming a huge photo costs nothing here or downstream.
		return nil, fmt.Errorf("%w: a %dx%d result for a %dx%d photo", ErrBadResult, r.Width, r.Height, size.X, size.Y)
	}
	d.photo = image.Rect(0, 0, r.Width, r.Height)
	d.corners = image.Rect(0, 0, r.Width+1, r.Height+1)
	d.pixels = r.Width * r.Height // each at most MaxInt32: the product fits a 64-bit int
	r.Model = string(d.bytes(d.count(maxModelID)))
	r.Timings = Timings{Decode: d.duration(), Preprocess: d.duration(), Infer: d.duration(), Postprocess: d.duration()}
	return r, nil
}

// nail reads one nail into n and returns the bytes of its mask's alpha, which come
// later, with every other mask's, in one stream (readAlpha).
func (d *resultDecoder) nail(n *Nail) (alpha int, err error) {
	n.ID = d.count(math.MaxInt32)
	if n.Score = math.Float64frombits(binary.LittleEndian.Uint64(d.bytes(8))); math.IsNaN(n.Score) || math.IsInf(n.Score, 0) {
		d.fail("score %v", n.Score) // no JSON encoder can write it
	}
	n.Class = d.count(math.MaxInt32)
	n.Box = d.rect(d.photo)
	n.Area = d.count(d.pixels)
	if d.flag() {
		rect := d.rect(d.photo)
		n.Mask = &Mask{Rect: rect, Scale: d.count(maxMaskScale)}
		gw, gh := n.Mask.Cells() // inside the photo: at most its pixels
		if d.err != nil {
			return 0, d.err
		}
		if !d.mem.take(gw*gh+maskOverhead, 1) {
			return 0, fmt.Errorf("%w: masks need more than the %d-byte limit", ErrBadResult, d.limit)
		}
		alpha = gw * gh
	}
	rings := d.count(d.pixels + 1)
	if d.err != nil {
		return 0, d.err
	}
	if !d.mem.take(rings, 24) {
		return 0, fmt.Errorf("%w: contours need more than the %d-byte limit", ErrBadResult, d.limit)
	}
	if rings > 0 {
		n.Contours = make([]Contour, rings)
	}
	for j := range n.Contours {
		if err := d.contour(&n.Contours[j]); err != nil {
			return 0, err
		}
	}
	if d.err != nil {
		return 0, d.err
	}
	return alpha, nil
}

// contour reads one ring of a nail's outline into c.
func (d *resultDecoder) contour(c *Contour) error {
	c.Hole = d.flag()
	// Two varint bytes at least per point: a count beyond what is left is a lie.
	pts := d.count(len(d.b) / 2)
	if d.err != nil {
		return d.err
	}
	if !d.mem.take(pts, 16) {
		return fmt.Errorf("%w: contours need more than the %d-byte limit", ErrBadResult, d.limit)
	}
	if pts > 0 {
		c.Points = make([]image.Point, pts)
	}
	prev := image.Point{}
	for k := range c.Points {
		// Each point is checked before the next step is added: the sum
		// stays within the photo and cannot overflow.
		prev = prev.Add(image.Point{d.delta(), d.delta()})
		if d.err == nil && !prev.In(d.corners) {
			d.fail("contour point %v outside the %v photo", prev, d.photo.Size())
		}
		if d.err != nil {
			return d.err
		}
		c.Points[k] = prev
	}
	return nil
}

// readAlpha reads the masks' alpha, alpha bytes in all, from the DEFLATE stream that
// must be all of rest, and hands each mask of nails its share.
func readAlpha(rest []byte, ns []Nail, alpha int) error {
	// One allocation for every mask; the stream must fill it exactly.
	all := make([]byte, alpha)
	// bytes.Reader is an io.ByteReader, so flate reads no further than its stream.
	br := bytes.NewReader(rest)
	zr := flate.NewReader(br)
	if _, err := io.ReadFull(zr, all); err != nil {
		return fmt.Errorf("%w: mask data: %v", ErrBadResult, err)
	}
	// The stream must end here, cleanly: more data, or a cut final block, is damage.
	if n, err := zr.Read(make([]byte, 1)); n != 0 || err != io.EOF || br.Len() != 0 {
		return fmt.Errorf("%w: mask data does not end with its rectangles", ErrBadResult)
	}
	for i := range ns {
		if m := ns[i].Mask; m != nil {
			gw, gh := m.Cells()
			size := gw * gh
			m.Alpha, all = all[:size:size], all[size:]
		}
	}
	return nil
}

// budget counts the bytes a decoding Result will hold against its limit. Claims are
// checked by division before they are multiplied or added, so no count a value
// declares can overflow the sum (24*rings did, and a 45-byte value then made
// make([]Contour, rings) panic).
type budget struct{ left int }

// take claims n items of each bytes; false (and nothing taken) when they do not fit.
func (b *budget) take(n, each int) bool {
	if n < 0 || each <= 0 || b.left < 0 || n > b.left/each {
		return false
	}
	b.left -= n * each
	return true
}

func appendRect(b []byte, r image.Rectangle) []byte {
	for _, v := range []int{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y} {
		b = binary.AppendVarint(b, int64(v))
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// codecReader reads varints and bytes, keeping the first error; after one, reads
// return zero values (so a decoder checks d.err once per record, not per field).
type codecReader struct {
	b   []byte
	err error
}

var zero8 [8]byte

func (d *codecReader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrBadResult}, args...)...)
	}
}

func (d *codecReader) bytes(n int) []byte {
	if d.err != nil || n > len(d.b) {
		d.fail("truncated")
		return zero8[:min(n, 8)]
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// flag reads a byte that must be 0 or 1: anything else is damage, not "false".
func (d *codecReader) flag() bool {
	v := d.bytes(1)[0]
	if d.err == nil && v > 1 {
		d.fail("flag byte %d", v)
	}
	return v == 1
}

// count reads an unsigned varint in [0, limit].
func (d *codecReader) count(limit int) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated varint")
		return 0
	}
	d.b = d.b[n:]
	if v > uint64(max(limit, 0)) {
		d.fail("value %d above its bound %d", v, limit)
		return 0
	}
	return int(v)
}

// delta reads a signed varint bounded to what a photo coordinate step can be.
func (d *codecReader) delta() int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || v > math.MaxInt32 || v < -math.MaxInt32 {
		d.fail("bad coordinate")
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *codecReader) duration() time.Duration {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || v < 0 {
		d.fail("bad timing")
		return 0
	}
	d.b = d.b[n:]
	return time.Duration(v)
}

// rect reads a rectangle that must be well-formed and lie inside bounds.
func (d *codecReader) rect(bounds image.Rectangle) image.Rectangle {
	var v [4]int
	for i := range v {
		v[i] = d.delta()
	}
	r := image.Rectangle{image.Point{v[0], v[1]}, image.Point{v[2], v[3]}}
	if d.err == nil && (v[0] > v[2] || v[1] > v[3] || v[0] < bounds.Min.X || v[1] < bounds.Min.Y ||
		v[2] > bounds.Max.X || v[3] > bounds.Max.Y) {
		d.fail("rectangle %v outside the %v photo", r, bounds.Size())
	}
	return r
}
