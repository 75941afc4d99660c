package segment_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"log"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
)

func photoBytes() []byte {
	var b bytes.Buffer
	_ = jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 128, 96)), nil)
	return b.Bytes()
}

// Find the nails in a photo. With the bundled model use engines/nailseg.json; this
// example uses a fixture model that always finds the same two shapes.
func Example() {
	seg, err := segment.Open(context.Background(), segment.Config{Model: "../testdata/semantic.json", Backend: "auto"})
	if err != nil {
		log.Fatal(err)
	}
	defer seg.Close()

	res, err := seg.Segment(context.Background(), photoBytes())
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range res.Nails {
		fmt.Printf("nail %d: score %.2f, box %v, %d polygon points\n", n.ID, n.Score, n.Box, len(n.Polygon())/2)
	}
	// Output:
	// nail 1: score 0.99, box (20,0)-(40,44), 4 polygon points
	// nail 2: score 0.98, box (70,54)-(106,90), 36 polygon points
}

// Paint polish on the nails found.
func ExampleRender() {
	seg, err := segment.Open(context.Background(), segment.Config{Model: "../testdata/semantic.json"})
	if err != nil {
		log.Fatal(err)
	}
	defer seg.Close()
	photo, err := nails.Decode(photoBytes(), nails.Limits{})
	if err != nil {
		log.Fatal(err)
	}
	res, err := seg.SegmentPhoto(context.Background(), photo)
	if err != nil {
		log.Fatal(err)
	}
	polish, _ := nails.Preset("glossy_red")
	img, err := nails.Render(photo, res, polish)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.Bounds(), len(res.Nails), "nails painted", polish.Finish)
	// Output: (0,0)-(128,96) 2 nails painted glossy
}
