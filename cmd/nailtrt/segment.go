package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/server"
)

func openSegmenter(m modelFlags) (*nails.Segmenter, error) {
	return nails.Open(context.Background(), nails.Config{Model: resolveModel(*m.model), Backend: *m.backend,
		Threads: *m.threads, Contexts: *m.contexts, Device: *m.dev, CacheDir: *m.cacheDir})
}

func runSegment(args []string) error {
	f := newFlags("segment", "IMAGE")
	m := addModelFlags(f)
	mask := f.String("mask", "NAILTRT_MASK", "polygon", "mask format in the JSON: polygon, rle, png or none")
	maskPNG := f.String("mask-png", "NAILTRT_MASK_PNG", "", "also write the label mask (pixel = nail id) to this PNG file")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() != 1 {
		f.fs.Usage()
		return errUsage
	}
	data, err := os.ReadFile(f.fs.Arg(0))
	if err != nil {
		return err
	}
	seg, err := openSegmenter(m)
	if err != nil {
		return err
	}
	defer seg.Close()
	res, err := seg.Segment(context.Background(), data)
	if err != nil {
		return err
	}
	out := server.SegmentJSON(res, *mask, seg.Manifest().Classes)
	out.TimingsMS = map[string]float64{"decode": ms(res.Timings.Decode), "preprocess": ms(res.Timings.Preprocess),
		"infer": ms(res.Timings.Infer), "postprocess": ms(res.Timings.Postprocess)}
	if *maskPNG != "" {
		png, err := res.LabelPNG()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*maskPNG, png, 0o644); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
