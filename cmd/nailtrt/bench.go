package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nailtrt/nailtrt/internal/benchkit"
	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/option"
)

func runBench(args []string) error {
	f := newFlags("bench", "--image photo.jpg")
	m := addModelFlags(f)
	url := f.String("url", "NAILTRT_BENCH_URL", "", "drive a running server at this base URL (e.g. http://localhost:8080); empty: the pipeline in-process")
	image := f.String("image", "NAILTRT_BENCH_IMAGE", "", "photo to send: required (e.g. docs/examples/hand.jpg; a JPEG for --cache miss)")
	endpoint := f.String("endpoint", "NAILTRT_BENCH_ENDPOINT", "segment", "segment or render")
	cache := f.String("cache", "NAILTRT_BENCH_CACHE", "miss", "miss: every request is a new image (a JPEG comment changes its bytes); hit: the same image")
	var levels []string
	f.add(option.Option{Flag: "concurrency", Env: "NAILTRT_BENCH_CONCURRENCY", Default: "1,4,16",
		Help: "comma-separated client counts", Value: option.List(&levels)})
	n := f.Int("requests", "NAILTRT_BENCH_REQUESTS", 100, "requests per concurrency level")
	material := f.String("material", "NAILTRT_BENCH_MATERIAL", "glossy_red", "material for --endpoint render")
	if err := f.parse(args); err != nil {
		return err
	}
	data, err := readBenchImage(*image, *cache)
	if err != nil {
		return err
	}
	conc, err := parseConcurrency(levels)
	if err != nil {
		return err
	}
	var target benchTarget
	if *url == "" {
		seg, err := openSegmenter(m)
		if err != nil {
			return err
		}
		defer seg.Close()
		if target, err = inProcessTarget(seg, *endpoint, *material); err != nil {
			return err
		}
	} else {
		target = serverTarget(*url, *endpoint, *material)
	}
	return benchLevels(target, data, *image, *cache, conc, *n)
}

// readBenchImage reads the photo to send, refusing what --cache cannot use.
func readBenchImage(image, cache string) ([]byte, error) {
	if image == "" {
		return nil, fmt.Errorf("--image is required: the photo to send (e.g. --image docs/examples/hand.jpg)")
	}
	data, err := os.ReadFile(image)
	if err != nil {
		return nil, err
	}
	if cache != "miss" && cache != "hit" {
		return nil, fmt.Errorf("--cache %q: want miss or hit", cache)
	}
	if cache == "miss" && !bytes.HasPrefix(data, []byte{0xFF, 0xD8}) {
		return nil, fmt.Errorf("--cache miss needs a JPEG (its bytes are varied with a comment segment)")
	}
	return data, nil
}

// parseConcurrency reads --concurrency's client counts.
func parseConcurrency(levels []string) ([]int, error) {
	var conc []int
	for _, s := range levels {
		c, err := strconv.Atoi(s)
		if err != nil || c < 1 {
			return nil, fmt.Errorf("--concurrency: %q is not a positive integer", s)
		}
		conc = append(conc, c)
	}
	return conc, nil
}

// benchTarget is what a bench drives: do sends one request, rss reads the resident
// memory of whatever answers it, label names it.
type benchTarget struct {
	do    func(ctx context.Context, body []byte) error
	rss   func() string
	label string
}

// inProcessTarget is the pipeline in this process: seg's segmentation, or with
// endpoint render a full decode, segmentation and render with material.
func inProcessTarget(seg *segment.Segmenter, endpoint, material string) (benchTarget, error) {
	mat, err := nails.LookupPreset(material)
	if err != nil {
		return benchTarget{}, err
	}
	do := func(ctx context.Context, body []byte) error {
		if endpoint != "render" {
			_, err := seg.Segment(ctx, body) // decodes at the size the model needs
			return err
		}
		p, err := nails.Decode(body, nails.Limits{})
		if err != nil {
			return err
		}
		res, err := seg.SegmentPhoto(ctx, p)
		if err == nil {
			_, err = nails.Render(p, res, mat)
		}
		return err
	}
	return benchTarget{do: do, rss: selfRSS,
		label: fmt.Sprintf("pipeline in-process (%s, %s)", seg.Manifest().ID(), seg.Backend())}, nil
}

// serverTarget is a running server at url, posting to its segment or render endpoint.
func serverTarget(url, endpoint, material string) benchTarget {
	base := strings.TrimRight(url, "/")
	path := "/api/nails/segment"
	if endpoint == "render" {
		path = "/api/nails/render"
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	return benchTarget{
		do: func(ctx context.Context, body []byte) error {
			return postImage(ctx, client, base+path, body, material)
		},
		rss:   func() string { return serverRSS(client, base) },
		label: "server " + base + path,
	}
}

// benchLevels sends n requests of data (the file image) at each concurrency level and
// prints their latencies, with the target's memory before and after.
func benchLevels(target benchTarget, data []byte, image, cache string, conc []int, n int) error {
	fmt.Printf("%s, image %s (%d bytes), cache %s\n", target.label, image, len(data), cache)
	fmt.Printf("resident memory at rest: %s\n", target.rss())
	var seq atomic.Int64
	body := func() []byte {
		if cache == "hit" {
			return data
		}
		return benchkit.VaryJPEG(data, fmt.Sprintf("nailtrt-bench-%d-%d", time.Now().UnixNano(), seq.Add(1)))
	}
	if cache == "hit" { // fill the cache first
		if err := target.do(context.Background(), data); err != nil {
			return err
		}
	}
	fmt.Printf("%8s %8s %7s %9s %9s %9s %9s %10s\n", "clients", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s")
	for _, c := range conc {
		lat, errs, wall := runLevel(c, n, func() error { return target.do(context.Background(), body()) })
		fmt.Printf("%8d %8d %7d %9.2f %9.2f %9.2f %9.2f %10.1f\n", c, n, errs, pct(lat, 50), pct(lat, 90), pct(lat, 99),
			pct(lat, 100), float64(n)/wall.Seconds())
	}
	fmt.Printf("resident memory after load: %s\n", target.rss())
	return nil
}

// runLevel sends total requests from c concurrent clients.
func runLevel(c, total int, do func() error) ([]time.Duration, int, time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var next atomic.Int64
	t0 := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				t := time.Now()
				err := do()
				d := time.Since(t)
				mu.Lock()
				if err != nil {
					errs++
					if errs == 1 {
						fmt.Fprintln(os.Stderr, "first error:", err)
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, errs, time.Since(t0)
}

func pct(lat []time.Duration, p int) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := min(len(s)-1, (len(s)*p+99)/100-1)
	return float64(s[max(0, i)].Microseconds()) / 1000
}

// postImage posts img as a multipart upload (field file, with material) to url; a
// status other than 200 is an error carrying the response body.
func postImage(ctx context.Context, client *http.Client, url string, img []byte, material string) error {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, _ := w.CreateFormFile("file", "frame.jpg")
	part.Write(img)
	w.WriteField("material", material)
	w.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &buf)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// serverRSS reads process_resident_memory_bytes from the server's /metrics.
func serverRSS(client *http.Client, base string) string {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return fmt.Sprintf("%.1f MiB", f/(1<<20))
		}
	}
	return "unknown"
}

func selfRSS() string {
	if v := benchkit.ProcMiB("VmRSS"); v > 0 {
		return fmt.Sprintf("%.1f MiB", v) // as serverRSS shows it, so runs compare at a glance
	}
	return "unknown"
}
