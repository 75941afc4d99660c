// Command installtest is the program make test-install builds in a Go module outside
// this repository, against a runner installed with make install (pkg-config, -tags
// nailtrt_pkgconfig): it finds the nails of a generated photo with the bundled model and
// fails unless the installed libraries did the work. It builds in the tree too, so the
// linters keep it honest.
package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"strings"

	"github.com/nailtrt/nailtrt/nails/segment"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "installtest:", err)
		os.Exit(1)
	}
}

func run() error {
	versions := segment.Versions()
	if !strings.Contains(versions, "onnxruntime") {
		return fmt.Errorf("the runner's libraries are not usable: %s", versions)
	}
	seg, err := segment.Open(context.Background(), segment.Config{Backend: "onnxruntime"})
	if err != nil {
		return err
	}
	defer seg.Close()
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{uint8(150 + x/4), uint8(100 + y/4), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		return err
	}
	res, err := seg.Segment(context.Background(), b.Bytes())
	if err != nil {
		return err
	}
	fmt.Printf("%s on %s (%s): %dx%d photo, %d nails\n", res.Model, seg.Backend(), versions, res.Width, res.Height, len(res.Nails))
	return nil
}
