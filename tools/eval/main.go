package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"time"

	"github.com/nailtrt/nailtrt/nails"
)

type row struct{ id, source, split, image, mask string }

func main() {
	model := flag.String("model", "engines/nailseg.json", "model manifest")
	dataset := flag.String("dataset", "../shared/datasets/nails", "dataset folder (manifest.csv, images/, masks/)")
	split := flag.String("split", "val", "split to evaluate: train, val or all")
	backend := flag.String("backend", "onnxruntime", "auto, onnxruntime or tensorrt")
	threads := flag.Int("threads", runtime.NumCPU(), "intra-op threads")
	out := flag.String("json", "", "also write the table as JSON to this file")
	write := flag.Bool("write-manifest", false, "store the metrics in the model manifest")
	flag.Parse()
	if err := run(*model, *dataset, *split, *backend, *threads, *out, *write); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

func run(model, dataset, split, backend string, threads int, out string, write bool) error {
	rows, err := readManifest(dataset, split)
	if err != nil {
		return err
	}
	seg, err := nails.Open(context.Background(), nails.Config{Model: model, Backend: backend, Threads: threads})
	if err != nil {
		return err
	}
	defer seg.Close()
	acc := map[string]*accumulator{}
	var latencies []time.Duration
	for _, r := range rows {
		data, err := os.ReadFile(filepath.Join(dataset, r.image))
		if err != nil {
			return err
		}
		truth, w, h, err := readMask(filepath.Join(dataset, r.mask))
		if err != nil {
			return fmt.Errorf("%s: %w", r.id, err)
		}
		t0 := time.Now()
		res, err := seg.Segment(context.Background(), data)
		if err != nil {
			return fmt.Errorf("%s: %w", r.id, err)
		}
		latencies = append(latencies, time.Since(t0))
		if res.Width != w || res.Height != h {
			return fmt.Errorf("%s: photo is %dx%d, mask %dx%d (EXIF rotation in the dataset?)", r.id, res.Width, res.Height, w, h)
		}
		pred := make([]bool, w*h)
		var preds [][]bool
		for _, n := range res.Nails {
			inst := make([]bool, w*h)
			for y := n.Box.Min.Y; y < n.Box.Max.Y; y++ {
				for x := n.Box.Min.X; x < n.Box.Max.X; x++ {
					if n.Mask.Inside(x, y) {
						inst[y*w+x], pred[y*w+x] = true, true
					}
				}
			}
			preds = append(preds, inst)
		}
		if acc[r.source] == nil {
			acc[r.source] = &accumulator{}
		}
		acc[r.source].add(pred, truth, w, h, preds)
	}
	table := map[string]map[string]float64{}
	overall := &accumulator{}
	sources := make([]string, 0, len(acc))
	for s, a := range acc {
		sources = append(sources, s)
		overall.merge(a)
		table[split+"/"+s] = a.result()
	}
	sort.Strings(sources)
	table[split+"/overall"] = overall.result()
	slices.Sort(latencies)

	fmt.Printf("model %s (%s) on %s/%s, %d images, median segment %.1f ms\n\n", seg.Manifest().ID(), seg.Backend(), dataset, split,
		len(rows), float64(latencies[len(latencies)/2].Microseconds())/1000)
	fmt.Printf("%-12s %6s %7s %7s %10s %9s %7s %7s\n", "source", "images", "IoU", "Dice", "boundaryF", "precision", "recall", "F1")
	for _, s := range append(sources, "overall") {
		m := table[split+"/"+s]
		fmt.Printf("%-12s %6.0f %7.4f %7.4f %10.4f %9.4f %7.4f %7.4f\n", s, m["images"], m["iou"], m["dice"], m["boundary_f"], m["precision"], m["recall"], m["f1"])
	}
	if out != "" {
		b, _ := json.MarshalIndent(table, "", "  ")
		if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if write {
		return writeMetrics(model, table)
	}
	return nil
}

func readManifest(dataset, split string) ([]row, error) {
	f, err := os.Open(filepath.Join(dataset, "manifest.csv"))
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, need := range []string{"id", "source", "split", "image", "mask"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("dataset manifest.csv has no %q column", need)
		}
	}
	var rows []row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if split != "all" && rec[col["split"]] != split {
			continue
		}
		rows = append(rows, row{rec[col["id"]], rec[col["source"]], rec[col["split"]], rec[col["image"]], rec[col["mask"]]})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no images in split %q", split)
	}
	return rows, nil
}

func readMask(path string) ([]bool, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, 0, 0, err
	}
	b := img.Bounds()
	m := make([]bool, b.Dx()*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, _, _, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			m[y*b.Dx()+x] = r > 127*257
		}
	}
	return m, b.Dx(), b.Dy(), nil
}

// writeMetrics replaces the manifest's metrics, keeping every other field as written.
func writeMetrics(path string, table map[string]map[string]float64) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return err
	}
	var metrics map[string]map[string]float64
	if raw, ok := doc["metrics"]; ok {
		_ = json.Unmarshal(raw, &metrics)
	}
	if metrics == nil {
		metrics = map[string]map[string]float64{}
	}
	for k, v := range table {
		delete(v, "images")
		metrics[k] = v
	}
	raw, _ := json.Marshal(metrics)
	doc["metrics"] = raw
	// Known fields in the manifest's usual order, then any others (sorted), then metrics.
	order := []string{"name", "version", "file", "sha256", "input", "output", "threshold", "tta", "classes"}
	known := map[string]bool{"metrics": true}
	for _, k := range order {
		known[k] = true
	}
	var extra []string
	for k := range doc {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	order = append(append(order, extra...), "metrics")
	var buf []byte
	buf = append(buf, "{\n"...)
	first := true
	for _, k := range order {
		v, ok := doc[k]
		if !ok {
			continue
		}
		if !first {
			buf = append(buf, ",\n"...)
		}
		first = false
		var pretty []byte
		var anyv any
		_ = json.Unmarshal(v, &anyv)
		pretty, _ = json.MarshalIndent(anyv, "  ", "  ")
		buf = append(buf, fmt.Sprintf("  %q: %s", k, pretty)...)
	}
	buf = append(buf, "\n}\n"...)
	return os.WriteFile(path, buf, 0o644)
}
