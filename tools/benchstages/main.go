// Command benchstages prints where a request's time and memory go, per photo size: each
// stage of a cache miss, whole requests through the server's handler (cache miss, cache
// hit, render with the segmentation cached), Go allocations per request, the ratios the
// speed work is judged by, and resident memory after a run of mixed 12 MP requests.
// `make bench` runs it after the Go benchmarks.
//
//	go run ./tools/benchstages [-n 25] [-rss 100] [-model engines/nailseg.json] [-image photo.jpg]
//
// Photos are the shipped example photo scaled to each size with camera-like grain
// (internal/benchkit); every cache-miss request gets other bytes (a JPEG comment). The
// handler is called in-process (no sockets), so the figures are the server's own work.
// Medians; this machine's noise is ±20%, so compare numbers from one run.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/nailtrt/nailtrt/internal/benchkit"
	"github.com/nailtrt/nailtrt/internal/mallocarena"
	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchstages:", err)
		os.Exit(1)
	}
}

// column is one photo size's measurements, in milliseconds unless named otherwise.
type column struct {
	name                      string
	bytes                     int
	decodeFull, decodeModel   float64
	scale                     string
	pre, model, post, json    float64
	miss, hit, render         float64
	allocsMiss, kbMiss        float64
	renderAllocs, renderKB    float64
	nonModel, missOverDecInfr float64
}

func run() error {
	n := flag.Int("n", 25, "runs per measurement (medians)")
	rss := flag.Int("rss", 100, "mixed 12 MP requests (segment and render, every one a cache miss) before reading resident memory; 0 skips")
	model := flag.String("model", "", "manifest; empty: the bundled model")
	imagePath := flag.String("image", "", "a photo to measure as well (its own column)")
	threads := flag.Int("threads", 0, "ONNX Runtime threads per inference (0: automatic)")
	contexts := flag.Int("contexts", 0, "inferences at once (0: default)")
	flag.Parse()
	mallocarena.Server() // as nailtrt serve does

	ctx := context.Background()
	seg, err := segment.Open(ctx, segment.Config{Model: *model, Threads: *threads, Contexts: *contexts})
	if err != nil {
		return err
	}
	srv := server.NewWithSegmenter(server.Config{}, seg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer srv.Close()
	for !srv.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	example, err := benchkit.ExamplePhoto()
	if err != nil {
		return err
	}
	type photo struct {
		name string
		data []byte
	}
	var photos []photo
	for _, s := range benchkit.Sizes {
		data, err := benchkit.ScaledJPEG(example, s.W, s.H, 1)
		if err != nil {
			return err
		}
		photos = append(photos, photo{s.Name, data})
	}
	if *imagePath != "" {
		data, err := os.ReadFile(*imagePath)
		if err != nil {
			return err
		}
		photos = append(photos, photo{*imagePath, data})
	}
	fmt.Printf("model %s (%s), %d CPUs, GOMAXPROCS %d, medians of %d runs\n\n", seg.Manifest().ID(), seg.Backend(),
		runtime.NumCPU(), runtime.GOMAXPROCS(0), *n)
	var cols []column
	for _, p := range photos {
		c, err := measure(ctx, srv, seg, p.name, p.data, *n)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		cols = append(cols, c)
	}
	printTable(cols)
	if *rss > 0 {
		return memoryRun(srv, photos[0].data, *rss)
	}
	return nil
}

func measure(ctx context.Context, srv http.Handler, seg *segment.Segmenter, name string, data []byte, n int) (column, error) {
	c := column{name: name, bytes: len(data)}
	h, err := nails.ReadHeader(data)
	if err != nil {
		return c, err
	}
	var decFull, decModel, pre, infer, post, js, hit, render []float64
	var reduced *nails.Photo
	for i := 0; i < n; i++ {
		t := time.Now()
		if _, err := nails.DecodeHeader(ctx, data, h, nails.Limits{}); err != nil {
			return c, err
		}
		decFull = append(decFull, msSince(t))
		t = time.Now()
		if reduced, err = seg.Decode(ctx, data, h); err != nil {
			return c, err
		}
		decModel = append(decModel, msSince(t))
		res, err := seg.SegmentPhoto(ctx, reduced)
		if err != nil {
			return c, err
		}
		pre = append(pre, ms(res.Timings.Preprocess))
		infer = append(infer, ms(res.Timings.Infer))
		post = append(post, ms(res.Timings.Postprocess))
		t = time.Now()
		if _, err := json.Marshal(server.SegmentJSON(res, "polygon", nil)); err != nil {
			return c, err
		}
		js = append(js, msSince(t))
	}
	b := reduced.Src.Bounds()
	c.scale = fmt.Sprintf("%dx%d", b.Dx(), b.Dy())

	tag := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	miss, allocs, kb, err := requests(srv, "/api/nails/segment", n, func(i int) []byte {
		return benchkit.VaryJPEG(data, fmt.Sprintf("%s-%d", tag, i))
	})
	if err != nil {
		return c, err
	}
	c.allocsMiss, c.kbMiss = allocs, kb
	body := benchkit.VaryJPEG(data, tag+"-cached")
	if _, err := post1(srv, "/api/nails/segment", body); err != nil {
		return c, err
	}
	same := func(int) []byte { return body }
	if hit, _, _, err = requests(srv, "/api/nails/segment", n, same); err != nil {
		return c, err
	}
	if render, c.renderAllocs, c.renderKB, err = requests(srv, "/api/nails/render", n, same); err != nil {
		return c, err
	}

	c.decodeFull, c.decodeModel = median(decFull), median(decModel)
	c.pre, c.model, c.post, c.json = median(pre), median(infer), median(post), median(js)
	c.miss, c.hit, c.render = median(miss), median(hit), median(render)
	c.nonModel = c.decodeModel + c.pre + c.post + c.json
	c.missOverDecInfr = c.miss / (c.decodeModel + c.model)
	return c, nil
}

// requests sends n requests to path, body(i) the i-th, one at a time: their times, and
// the Go allocations (count and KB) per request.
func requests(srv http.Handler, path string, n int, body func(i int) []byte) (times []float64, allocs, kb float64, err error) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := 0; i < n; i++ {
		d, err := post1(srv, path, body(i))
		if err != nil {
			return nil, 0, 0, err
		}
		times = append(times, d)
	}
	runtime.ReadMemStats(&m1)
	return times, float64(m1.Mallocs-m0.Mallocs) / float64(n), float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n) / 1024, nil
}

// post1 sends one photo as the raw request body and times the handler.
func post1(h http.Handler, path string, body []byte) (float64, error) {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "image/jpeg")
	rec := httptest.NewRecorder()
	t := time.Now()
	h.ServeHTTP(rec, req)
	d := msSince(t)
	if rec.Code != http.StatusOK {
		return 0, fmt.Errorf("%s: %d %s", path, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return d, nil
}

func printTable(cols []column) {
	row := func(label string, f func(c column) string) {
		fmt.Printf("| %s |", label)
		for _, c := range cols {
			fmt.Printf(" %s |", f(c))
		}
		fmt.Println()
	}
	msf := func(get func(c column) float64) func(c column) string {
		return func(c column) string { return fmt.Sprintf("%.2f", get(c)) }
	}
	row("stage (median ms)", func(c column) string { return fmt.Sprintf("%s (%d KB)", c.name, c.bytes/1000) })
	fmt.Printf("| --- |%s\n", strings.Repeat(" ---: |", len(cols)))
	row("JPEG decode, full size", msf(func(c column) float64 { return c.decodeFull }))
	row("JPEG decode for the model", func(c column) string { return fmt.Sprintf("%.2f (%s)", c.decodeModel, c.scale) })
	row("preprocess", msf(func(c column) float64 { return c.pre }))
	row("model call", msf(func(c column) float64 { return c.model }))
	row("postprocess", msf(func(c column) float64 { return c.post }))
	row("JSON", msf(func(c column) float64 { return c.json }))
	row("**all but the model** (decode for the model + pre + post + JSON)", msf(func(c column) float64 { return c.nonModel }))
	row("segment, cache miss (handler)", msf(func(c column) float64 { return c.miss }))
	row("**miss / (decode + model call)**", func(c column) string { return fmt.Sprintf("%.2fx", c.missOverDecInfr) })
	row("segment, cache hit (handler)", func(c column) string { return fmt.Sprintf("%.3f", c.hit) })
	row("render, segmentation cached (handler)", msf(func(c column) float64 { return c.render }))
	row("Go allocations per miss", func(c column) string { return fmt.Sprintf("%.0f (%.0f KB)", c.allocsMiss, c.kbMiss) })
	row("Go allocations per cached render", func(c column) string {
		return fmt.Sprintf("%.0f (%.0f KB)", c.renderAllocs, c.renderKB)
	})
}

// memoryRun sends n requests of the 12 MP photo, alternately segment and render, each a
// cache miss, four at a time (the default Contexts and then some), and prints resident
// memory after and at its peak.
func memoryRun(srv http.Handler, data []byte, n int) error {
	before := benchkit.ProcMiB("VmRSS")
	errs := make(chan error, n)
	sem := make(chan struct{}, 4)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem }()
			path := "/api/nails/segment"
			if i%2 == 1 {
				path = "/api/nails/render"
			}
			_, err := post1(srv, path, benchkit.VaryJPEG(data, fmt.Sprintf("rss-%d-%d", time.Now().UnixNano(), i)))
			errs <- err
		}(i)
	}
	for range cap(sem) {
		sem <- struct{}{}
	}
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("\nresident memory: %.0f MiB before, %.0f MiB after %d mixed 12 MP requests (4 at a time), peak %.0f MiB\n",
		before, benchkit.ProcMiB("VmRSS"), n, benchkit.ProcMiB("VmHWM"))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/cache/stats", nil))
	fmt.Printf("Go heap in use %.0f MiB (held from the OS %.0f MiB); cache %s\n", float64(ms.HeapInuse)/(1<<20),
		float64(ms.HeapSys-ms.HeapReleased)/(1<<20), strings.TrimSpace(rec.Body.String()))
	return nil
}

var ms = nails.Milliseconds

func msSince(t time.Time) float64 { return ms(time.Since(t)) }
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
