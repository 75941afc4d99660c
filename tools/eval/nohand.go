package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nailtrt/nailtrt/nails/segment"
)

// scoreNoHand segments every photo in dir (none shows a hand, so every nail found is
// false) and reports how many nails were found, on how many photos, and how much of its
// photo the largest one covers. Issue 35's target: at most one false nail per ten photos,
// none over 2% of its photo.
func scoreNoHand(seg *segment.Segmenter, dir string) (map[string]float64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("no-hand photos: %w (tools/train/nohand.py writes them; make eval does)", err)
	}
	var names []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && slices.Contains([]string{".jpg", ".jpeg", ".png", ".webp"}, ext) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no-hand photos: no images in %s", dir)
	}
	slices.Sort(names)
	out := map[string]float64{"images": float64(len(names))}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		res, err := seg.Segment(context.Background(), data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(res.Nails) > 0 {
			out["photos_with_nails"]++
		}
		for _, n := range res.Nails {
			share := float64(n.Area) / float64(res.Width*res.Height)
			out["false_nails"]++
			out["largest_share"] = max(out["largest_share"], share)
			if share > 0.02 {
				out["over_2pct"]++
			}
		}
	}
	out["false_per_photo"] = out["false_nails"] / out["images"]
	return out, nil
}
