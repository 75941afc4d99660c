package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/server"
)

func openSegmenter(m *segment.Config) (*segment.Segmenter, error) {
	cfg := *m
	cfg.Model = resolveModel(cfg.Model)
	return segment.Open(context.Background(), cfg)
}

// segmentFile reads a photo file and finds its nails: what segment and render share. The
// photo is decoded at the size the model needs (Segmenter.Segment); its bytes are
// returned for render.
func segmentFile(m *segment.Config, path string) (*segment.Segmenter, []byte, *nails.Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	// A file that is no image fails before the model loads.
	if h, err := nails.ReadHeader(data); err != nil {
		return nil, nil, nil, err
	} else if err := m.Limits.Check(h); err != nil {
		return nil, nil, nil, err
	}
	seg, err := openSegmenter(m)
	if err != nil {
		return nil, nil, nil, err
	}
	res, err := seg.Segment(context.Background(), data)
	if err != nil {
		seg.Close()
		return nil, nil, nil, err
	}
	return seg, data, res, nil
}

// onePhoto checks the positional arguments: exactly one photo, or a usage error that
// says what was wrong.
func onePhoto(f *flags) (string, error) {
	switch n := f.fs.NArg(); n {
	case 1:
		return f.fs.Arg(0), nil
	case 0:
		f.usage(os.Stderr)
		return "", errUsage
	default:
		return "", fmt.Errorf("takes one photo, got %d (%s): run it once per photo, or use the HTTP server for many",
			n, strings.Join(f.fs.Args(), " "))
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func runSegment(args []string) error {
	f := newFlags("segment", "IMAGE")
	m := addModelFlags(f)
	mask := f.String("mask", "NAILTRT_MASK", "polygon", "mask format in the JSON: polygon, rle, png (mask_png: a base64 label PNG, as the HTTP API) or none")
	maskPNG := f.String("mask-png", "NAILTRT_MASK_PNG", "", "also write the label mask (pixel = nail id) to this PNG file")
	pretty := f.Bool("pretty", "NAILTRT_PRETTY", false, "indent the JSON for people (default: one compact line, like the HTTP API)")
	if err := f.parse(args); err != nil {
		return err
	}
	switch *mask {
	case "polygon", "rle", "png", "none":
	default:
		return fmt.Errorf("--mask %q: want polygon, rle, png or none", *mask)
	}
	path, err := onePhoto(f)
	if err != nil {
		return err
	}
	seg, _, res, err := segmentFile(m, path)
	if err != nil {
		return err
	}
	defer seg.Close()
	out := server.SegmentJSON(res, *mask, seg.Manifest().Classes)
	out.TimingsMS = res.Timings.Milliseconds()
	if *maskPNG != "" || *mask == "png" {
		png, err := res.LabelPNG()
		if err != nil {
			return err
		}
		if *mask == "png" {
			out.MaskPNG = base64.StdEncoding.EncodeToString(png)
		}
		if *maskPNG != "" {
			if err := os.WriteFile(*maskPNG, png, 0o644); err != nil {
				return err
			}
		}
	}
	enc := json.NewEncoder(os.Stdout)
	if *pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	if msg := res.Message(); msg != "" {
		fmt.Fprintf(os.Stderr, "%s (%s)\n", msg, path)
		return nil
	}
	fmt.Fprintf(os.Stderr, "%s found in %s\n", plural(len(res.Nails), "nail"), path)
	return nil
}
