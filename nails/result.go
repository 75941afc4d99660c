package nails

import (
	"image"
	"time"
)

// Nail is one fingernail found in a photo. Coordinates are photo pixels as displayed.
type Nail struct {
	ID       int             // 1-based, in reading order (top to bottom, left to right)
	Score    float64         // confidence in [0,1]
	Class    int             // index into the manifest's classes
	Box      image.Rectangle // tight bounds of the mask
	Area     int             // mask pixels
	Mask     *Mask
	Contours []Contour // outer boundaries and holes, simplified
}

// NoNailsMessage tells a person why nothing was found or painted, and what photo works.
// ASCII only: a render sends it in a header.
const NoNailsMessage = "no nails found: try a closer photo of a hand, fingers spread and nails in view"

// Message is what an answer about r says beside its nails: NoNailsMessage when there
// are none (a render then returns the photo unpainted), "" otherwise.
func (r *Result) Message() string {
	if len(r.Nails) == 0 {
		return NoNailsMessage
	}
	return ""
}

// Contour is one closed boundary ring of a nail mask: vertices on pixel corners,
// clockwise in image coordinates for outer rings; holes wind the other way.
type Contour struct {
	Points []image.Point
	Hole   bool
}

// Polygon returns the main outline as [x1,y1,x2,y2,...]: the outer ring enclosing the
// largest area, which is what single-polygon clients (the Python app's API) expect.
func (n *Nail) Polygon() []int {
	best, bestArea := -1, 0
	for i, c := range n.Contours {
		if c.Hole {
			continue
		}
		if a := abs(shoelace(c.Points)); a > bestArea || best < 0 {
			best, bestArea = i, a
		}
	}
	if best < 0 {
		return []int{}
	}
	out := make([]int, 0, 2*len(n.Contours[best].Points))
	for _, p := range n.Contours[best].Points {
		out = append(out, p.X, p.Y)
	}
	return out
}

// Timings of one segmentation, per stage.
type Timings struct {
	Decode, Preprocess, Infer, Postprocess time.Duration
}

// Milliseconds is the stages in milliseconds, keyed as the API's timings_ms.
func (t Timings) Milliseconds() map[string]float64 {
	return map[string]float64{"decode": Milliseconds(t.Decode), "preprocess": Milliseconds(t.Preprocess),
		"infer": Milliseconds(t.Infer), "postprocess": Milliseconds(t.Postprocess)}
}

// Milliseconds is d in milliseconds to the microsecond: the unit of every duration
// nailtrt reports (API timings, health, logs, benchmarks).
func Milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Result is everything Segment found in one photo.
type Result struct {
	Width, Height int
	Model         string // manifest ID, "name@version"
	Nails         []Nail
	Timings       Timings
}

// Bytes estimates the memory a Result holds, for byte-bounded caches.
func (r *Result) Bytes() int {
	n := 128
	for _, nail := range r.Nails {
		n += 96
		if nail.Mask != nil {
			n += nail.Mask.Bytes()
		}
		for _, c := range nail.Contours {
			n += 24 + 16*len(c.Points)
		}
	}
	return n
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// BatchStats counts the model runs of batched requests and the requests they carried
// (their ratio is the mean batch), as a runtime with dynamic batching reports them.
// Both are 0 when batching is off.
type BatchStats struct {
	MaxImages int // images per run at most; 0: batching off
	Runs      int64
	Requests  int64
}
