package benchkit

import (
	"encoding/binary"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	xdraw "golang.org/x/image/draw"

	"github.com/nailtrt/nailtrt/nails"
)

// Size is a photo size the benchmarks report on.
type Size struct {
	Name string
	W, H int
}

// Sizes are what users send: a 12 MP phone photo, a 1.2 MP web upload, a webcam frame.
var Sizes = []Size{{"12 MP", 4032, 3024}, {"1280x960", 1280, 960}, {"640x480", 640, 480}}

// ExamplePhoto is the shipped CC BY 4.0 hand photo (docs/examples), found from the
// working directory upwards so benchmarks run from any package folder.
func ExamplePhoto() ([]byte, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "docs", "examples", "hand.jpg")); err == nil {
			return b, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return nil, fmt.Errorf("benchkit: docs/examples/hand.jpg not found above the working directory")
		}
		dir = up
	}
}

// ScaledJPEG resizes a photo to w x h (Catmull-Rom) and adds sensor-like grain (seeded,
// so runs compare), then encodes it at JPEG quality 90, 4:2:0: upscaled pixels alone
// are smoother than a camera's and would decode unrealistically fast.
func ScaledJPEG(src []byte, w, h int, seed uint64) ([]byte, error) {
	p, err := nails.Decode(src, nails.Limits{})
	if err != nil {
		return nil, err
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), p.RGBA(), p.RGBA().Bounds(), xdraw.Src, nil)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < len(dst.Pix); i += 4 {
		for c := range 3 {
			v := int(dst.Pix[i+c]) + int(rng.NormFloat64()*2.5)
			dst.Pix[i+c] = uint8(min(255, max(0, v)))
		}
	}
	return nails.EncodeJPEG(dst, 90)
}

// VaryJPEG returns a copy of a JPEG with a comment segment after SOI: the same pixels,
// other bytes, so a content-addressed cache misses.
func VaryJPEG(jpg []byte, comment string) []byte {
	seg := make([]byte, 4, 4+len(comment))
	seg[0], seg[1] = 0xFF, 0xFE
	binary.BigEndian.PutUint16(seg[2:], uint16(2+len(comment)))
	seg = append(seg, comment...)
	out := make([]byte, 0, len(jpg)+len(seg))
	out = append(out, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// ProcMiB reads a memory field of /proc/self/status (VmRSS now, VmHWM the peak) in MiB;
// 0 where there is no such file.
func ProcMiB(field string) float64 { return procMiB("/proc/self/status", field) }

// ProcessMiB is ProcMiB of another process (tools/startup measures a server it started).
func ProcessMiB(pid int, field string) float64 {
	return procMiB("/proc/"+strconv.Itoa(pid)+"/status", field)
}

func procMiB(path, field string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
