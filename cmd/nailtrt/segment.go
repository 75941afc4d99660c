package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/server"
)

func openSegmenter(m modelFlags) (*nails.Segmenter, error) {
	return nails.Open(context.Background(), nails.Config{Model: resolveModel(*m.model), Backend: *m.backend,
		Threads: *m.threads, Contexts: *m.contexts, Device: *m.dev, CacheDir: *m.cacheDir})
}

// segmentFile decodes a photo file and finds its nails: what segment and render share.
func segmentFile(m modelFlags, path string) (*nails.Segmenter, *nails.Photo, *nails.Result, error) {
	t := time.Now()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	photo, err := nails.Decode(data, nails.Limits{})
	if err != nil {
		return nil, nil, nil, err
	}
	decode := time.Since(t)
	seg, err := openSegmenter(m)
	if err != nil {
		return nil, nil, nil, err
	}
	res, err := seg.SegmentPhoto(context.Background(), photo)
	if err != nil {
		seg.Close()
		return nil, nil, nil, err
	}
	res.Timings.Decode = decode
	return seg, photo, res, nil
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
	seg, _, res, err := segmentFile(m, f.fs.Arg(0))
	if err != nil {
		return err
	}
	defer seg.Close()
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
