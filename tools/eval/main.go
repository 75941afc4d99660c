package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
)

// row is one manifest.csv line; instances and origin are empty where the dataset has none.
type row struct{ id, source, split, image, mask, instances, origin string }

func main() {
	model := flag.String("model", "engines/nailseg.json", "model manifest")
	dataset := flag.String("dataset", cmp.Or(os.Getenv("NAILTRT_DATASET"), "../shared/datasets/nails"),
		"dataset folder (manifest.csv, images/, masks/); default NAILTRT_DATASET, else ../shared/datasets/nails")
	split := flag.String("split", "val", "split to evaluate: train, val, test or all")
	testIDs := flag.String("test-ids", "tools/train/splits/test.txt",
		"the test split's ids (carved out of train by tools/train/split_test.py); those rows are \"test\", not \"train\"")
	nohand := flag.String("nohand", "", "also score a folder of photos with no hand (tools/train/nohand.py writes one): false nails per photo")
	backend := flag.String("backend", "onnxruntime", "auto, onnxruntime or tensorrt")
	threads := flag.Int("threads", runtime.NumCPU(), "intra-op threads")
	out := flag.String("json", "", "also write the table as JSON to this file")
	write := flag.Bool("write-manifest", false, "store the metrics in the model manifest")
	sources := flag.String("sources", "", "comma-separated sources to evaluate (default all)")
	perImage := flag.String("per-image", "", "also write one CSV row per image (id, source, IoU, nails found/labelled/matched) to this file")
	flag.Parse()
	opts := options{sources: *sources, perImage: *perImage, testIDs: *testIDs, nohand: *nohand}
	if err := run(*model, *dataset, *split, *backend, *threads, *out, *write, opts); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

// options are the evaluation's optional outputs and filters.
type options struct {
	sources  string // comma-separated; "" = all
	perImage string // CSV path; "" = none
	testIDs  string // the test split's id list; "" = none
	nohand   string // folder of no-hand photos; "" = none
}

func run(model, dataset, split, backend string, threads int, out string, write bool, opts options) error {
	test, err := readTestIDs(opts.testIDs)
	if err != nil {
		return err
	}
	rows, err := readManifest(dataset, split, test)
	if err != nil {
		return err
	}
	if rows, err = keepSources(rows, opts.sources, split); err != nil {
		return err
	}
	perImage, closePerImage, err := createPerImage(opts.perImage)
	if err != nil {
		return err
	}
	defer closePerImage()
	seg, err := segment.Open(context.Background(), segment.Config{Model: model, Backend: backend, Threads: threads})
	if err != nil {
		return err
	}
	defer seg.Close()
	acc, latencies, err := scoreRows(seg, dataset, rows, perImage)
	if err != nil {
		return err
	}
	table, sources, origins := tabulate(acc, split)
	slices.Sort(latencies)

	fmt.Printf("model %s (%s) on %s/%s, %d images, median segment %.1f ms\n\n", seg.Manifest().ID(), seg.Backend(), dataset, split,
		len(rows), float64(latencies[len(latencies)/2].Microseconds())/1000)
	printTable("source", sources, func(s string) map[string]float64 { return table[split+"/"+s] })
	fmt.Println()
	printTable("origin", origins, func(o string) map[string]float64 { return table[split+"/origin:"+o] })
	fmt.Println()
	printSizes(sources, func(s string) map[string]float64 { return table[split+"/"+s] })
	fmt.Println("\ninstances: per-nail outlines from instances/ where the dataset has them, else 8-connected components of the mask")
	if opts.nohand != "" {
		nh, err := scoreNoHand(seg, opts.nohand)
		if err != nil {
			return err
		}
		table["nohand"] = nh
		fmt.Printf("\nno hand (%s): %.0f photos, %.0f false nails (%.3f a photo), %.0f photos with any, %.0f nails over 2%% of their photo, largest %.2f%% of its photo\n",
			opts.nohand, nh["images"], nh["false_nails"], nh["false_per_photo"], nh["photos_with_nails"], nh["over_2pct"], 100*nh["largest_share"])
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

// createPerImage creates the per-image CSV at path and writes its header; done
// flushes and closes it. With path "" the writer is nil and done does nothing.
func createPerImage(path string) (w *csv.Writer, done func(), err error) {
	if path == "" {
		return nil, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	w = csv.NewWriter(f)
	_ = w.Write([]string{"id", "source", "image", "iou", "found", "labelled", "matched"})
	return w, func() { w.Flush(); f.Close() }, nil
}

// scoreRows scores every row, accumulated by source and by "origin:"+origin (rows
// with one), writing a line per row to perImage when it is not nil; latencies are the
// segmentations' times, in row order.
func scoreRows(seg *segment.Segmenter, dataset string, rows []row, perImage *csv.Writer) (acc map[string]*accumulator, latencies []time.Duration, err error) {
	acc = map[string]*accumulator{}
	for _, r := range rows {
		one, took, err := scoreRow(seg, dataset, r)
		if err != nil {
			return nil, nil, err
		}
		latencies = append(latencies, took)
		if perImage != nil {
			_ = perImage.Write([]string{r.id, r.source, r.image, fmt.Sprintf("%.4f", one.result()["iou"]),
				fmt.Sprint(one.npred), fmt.Sprint(one.ntrue), fmt.Sprint(one.tp)})
		}
		for _, key := range []string{r.source, "origin:" + r.origin} {
			if key == "origin:" {
				continue
			}
			if acc[key] == nil {
				acc[key] = &accumulator{}
			}
			acc[key].merge(one)
		}
	}
	return acc, latencies, nil
}

// keepSources keeps the rows of the comma-separated sources ("" keeps every row).
func keepSources(rows []row, sources, split string) ([]row, error) {
	if sources == "" {
		return rows, nil
	}
	keep := strings.Split(sources, ",")
	rows = slices.DeleteFunc(rows, func(r row) bool { return !slices.Contains(keep, r.source) })
	if len(rows) == 0 {
		return nil, fmt.Errorf("no images of sources %q in split %q", sources, split)
	}
	return rows, nil
}

// scoreRow segments one row's photo and scores it against the row's masks; took is the
// segmentation's time alone.
func scoreRow(seg *segment.Segmenter, dataset string, r row) (one *accumulator, took time.Duration, err error) {
	data, err := os.ReadFile(filepath.Join(dataset, r.image))
	if err != nil {
		return nil, 0, err
	}
	truth, w, h, err := readMask(filepath.Join(dataset, r.mask))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", r.id, err)
	}
	var truths [][]bool
	if r.instances != "" {
		labels, iw, ih, err := readLabels(filepath.Join(dataset, r.instances))
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", r.id, err)
		}
		if iw != w || ih != h {
			return nil, 0, fmt.Errorf("%s: instance map is %dx%d, mask %dx%d", r.id, iw, ih, w, h)
		}
		truths = instancesFromLabels(labels)
	}
	t0 := time.Now()
	res, err := seg.Segment(context.Background(), data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", r.id, err)
	}
	took = time.Since(t0)
	if res.Width != w || res.Height != h {
		return nil, 0, fmt.Errorf("%s: photo is %dx%d, mask %dx%d (EXIF rotation in the dataset?)", r.id, res.Width, res.Height, w, h)
	}
	pred, preds := predictedMasks(res, w, h)
	one = &accumulator{}
	one.add(pred, truth, w, h, preds, truths)
	return one, took, nil
}

// predictedMasks rasterises res's nails on a w x h grid: their union, and one mask each.
func predictedMasks(res *nails.Result, w, h int) (pred []bool, preds [][]bool) {
	pred = make([]bool, w*h)
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
	return pred, preds
}

// tabulate is the metrics table, keyed split/source and split/origin:o, with
// split/overall over the sources; and the sources and origins, sorted.
func tabulate(acc map[string]*accumulator, split string) (table map[string]map[string]float64, sources, origins []string) {
	table = map[string]map[string]float64{}
	overall := &accumulator{}
	sources = make([]string, 0, len(acc))
	for s, a := range acc {
		if o, ok := strings.CutPrefix(s, "origin:"); ok {
			origins = append(origins, o)
			table[split+"/origin:"+o] = a.result()
			continue
		}
		sources = append(sources, s)
		overall.merge(a)
		table[split+"/"+s] = a.result()
	}
	sort.Strings(sources)
	sort.Strings(origins)
	table[split+"/overall"] = overall.result()
	return table, sources, origins
}

// printTable prints one metrics row per key; "overall" is appended for the source table.
func printTable(title string, keys []string, get func(string) map[string]float64) {
	fmt.Printf("%-16s %6s %7s %7s %10s %9s %7s %7s\n", title, "images", "IoU", "Dice", "boundaryF", "precision", "recall", "F1")
	if title == "source" {
		keys = append(keys, "overall")
	}
	for _, k := range keys {
		m := get(k)
		fmt.Printf("%-16s %6.0f %7.4f %7.4f %10.4f %9.4f %7.4f %7.4f\n", k, m["images"], m["iou"], m["dice"], m["boundary_f"], m["precision"], m["recall"], m["f1"])
	}
}

// printSizes prints recall per nail-size bucket (sizeBuckets) for each source and overall.
func printSizes(keys []string, get func(string) map[string]float64) {
	fmt.Printf("%-16s", "recall by size")
	for _, b := range sizeBuckets {
		fmt.Printf(" %15s", b.key+" px")
	}
	fmt.Println()
	for _, k := range append(keys, "overall") {
		m := get(k)
		fmt.Printf("%-16s", k)
		for _, b := range sizeBuckets {
			fmt.Printf(" %7.4f (%5.0f)", m["recall_"+b.key], m["nails_"+b.key])
		}
		fmt.Println()
	}
}

// readTestIDs reads the test split's id list (one id a line, # comments); "" reads none.
func readTestIDs(path string) (map[string]bool, error) {
	ids := map[string]bool{}
	if path == "" {
		return ids, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("test split: %w (run from the repository root, or pass --test-ids)", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ids[line] = true
		}
	}
	return ids, nil
}

func readManifest(dataset, split string, test map[string]bool) ([]row, error) {
	f, err := os.Open(filepath.Join(dataset, "manifest.csv"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no nails data set at %s (%w): it is not in the repository; README.md, "+
			"\"Evaluate the model\", says where it comes from and its layout. Point at it with --dataset, "+
			"NAILTRT_DATASET or, for make eval, DATASET", dataset, err)
	}
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
		rowSplit := rec[col["split"]]
		if test[rec[col["id"]]] {
			if rowSplit != "train" {
				return nil, fmt.Errorf("test split: %s is in %s, not train", rec[col["id"]], rowSplit)
			}
			rowSplit = "test"
		}
		if split != "all" && rowSplit != split {
			continue
		}
		opt := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		rows = append(rows, row{rec[col["id"]], rec[col["source"]], rowSplit, rec[col["image"]], rec[col["mask"]],
			opt("instances"), opt("origin")})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no images in split %q", split)
	}
	return rows, nil
}

func readMask(path string) ([]bool, int, int, error) {
	labels, w, h, err := readLabels(path)
	if err != nil {
		return nil, 0, 0, err
	}
	m := make([]bool, len(labels))
	for i, v := range labels {
		m[i] = v > 127
	}
	return m, w, h, nil
}

// readLabels reads an 8-bit instance map: pixel = nail number, 0 = background.
func readLabels(path string) ([]uint8, int, int, error) {
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
	out := make([]uint8, b.Dx()*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out[y*b.Dx()+x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
		}
	}
	return out, b.Dx(), b.Dy(), nil
}

// instancesFromLabels splits a label map into one mask per nail number, in number order.
func instancesFromLabels(labels []uint8) [][]bool {
	var byLabel [256][]bool
	for i, l := range labels {
		if l == 0 {
			continue
		}
		if byLabel[l] == nil {
			byLabel[l] = make([]bool, len(labels))
		}
		byLabel[l][i] = true
	}
	var out [][]bool
	for _, m := range byLabel {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
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
