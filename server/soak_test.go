package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	soakDuration = flag.Duration("soak.duration", 3*time.Second, "how long TestSoak sends hostile traffic (make soak: minutes)")
	soakClients  = flag.Int("soak.clients", 16, "concurrent clients in TestSoak")
	soakReport   = flag.String("soak.report", "", "write TestSoak's figures as JSON to this file")
)

// soakCase is one kind of request the soak mixes, with the status it must get.
type soakCase struct {
	name   string
	status int
	send   func(c *http.Client, base string) (int, error)
}

// rssBytes reads this process's resident set from /proc (Linux); 0 elsewhere.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestSoak runs many concurrent clients mixing good photos with decompression and CPU
// bombs, truncated files, oversized bodies, uploads cut off mid-way and NaN fields
// against a real listener. Every request must get its documented status, good ones their
// right answer; peak RSS stays under a stated bound; no goroutine outlives the traffic.
// `go test -run Soak ./server -soak.duration 5m` runs it for longer.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	const maxBody = 2 << 20
	s := newTestServer(t, Config{MaxBodyBytes: maxBody, MemoryBudget: 192 << 20, UploadBudget: 64 << 20, AdmitWait: 2 * time.Second,
		MaxQueue: 256, CacheEntries: 8}, nil)
	waitReady(t, s)
	srv := httptest.NewServer(s)
	defer srv.Close()

	good := make([][]byte, 24)
	want := make([]int, len(good))
	for i := range good {
		good[i] = photoJPEG(t, 320+8*i, 240, uint8(i*11))
		rec := postImage(t, s, "/api/nails/segment", good[i], nil)
		require.Equal(t, http.StatusOK, rec.Code)
		want[i] = len(decodeJSON[SegmentResponse](t, rec).Nails)
	}
	post := func(c *http.Client, url string, data []byte, fields map[string]string) (int, []byte, error) {
		body, ct := multipartBody(t, "file", data, fields)
		resp, err := c.Post(url, ct, body)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	cases := []soakCase{
		{"good segment", http.StatusOK, func(c *http.Client, base string) (int, error) {
			i := rand.IntN(len(good))
			st, b, err := post(c, base+"/api/nails/segment", good[i], nil)
			if err == nil && st == http.StatusOK {
				var r SegmentResponse
				if err := json.Unmarshal(b, &r); err != nil || len(r.Nails) != want[i] {
					return st, fmt.Errorf("wrong answer: %d nails, want %d (%v)", len(r.Nails), want[i], err)
				}
			}
			return st, err
		}},
		{"good render", http.StatusOK, func(c *http.Client, base string) (int, error) {
			st, _, err := post(c, base+"/api/nails/render", good[rand.IntN(len(good))], map[string]string{"material": "glossy_red"})
			return st, err
		}},
		{"40 MP progressive CMYK bomb", http.StatusUnprocessableEntity, func(c *http.Client, base string) (int, error) {
			st, _, err := post(c, base+"/api/nails/render", jpegBomb(6000, 6666, 1), nil)
			return st, err
		}},
		{"scan bomb", http.StatusUnprocessableEntity, func(c *http.Client, base string) (int, error) {
			st, _, err := post(c, base+"/api/nails/segment", jpegBomb(512, 512, 5000), nil)
			return st, err
		}},
		{"truncated", http.StatusUnprocessableEntity, func(c *http.Client, base string) (int, error) {
			g := good[rand.IntN(len(good))]
			st, _, err := post(c, base+"/api/nails/segment", g[:len(g)/2], nil)
			return st, err
		}},
		{"huge body", http.StatusRequestEntityTooLarge, func(c *http.Client, base string) (int, error) {
			resp, err := c.Post(base+"/api/nails/segment", "image/jpeg", bytes.NewReader(make([]byte, maxBody+1)))
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.StatusCode, nil
		}},
		{"NaN field", http.StatusBadRequest, func(c *http.Client, base string) (int, error) {
			st, _, err := post(c, base+"/api/nails/render", good[0], map[string]string{"material": "custom", "custom_color": "#c8102e", "glossiness": "NaN"})
			return st, err
		}},
		{"cut off mid-upload", 0, func(_ *http.Client, base string) (int, error) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				return 0, err
			}
			fmt.Fprintf(conn, "POST /api/nails/segment HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", 1<<20)
			_, _ = conn.Write(good[0][:len(good[0])/3])
			return 0, conn.Close()
		}},
	}

	baseGoroutines := runtime.NumGoroutine()
	var peak, base int64 = 0, rssBytes()
	stopSampling := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			peak = max(peak, rssBytes())
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	type tally struct {
		sent, wrong, overloaded int
		lat                     []time.Duration
	}
	var mu sync.Mutex
	tallies := map[string]*tally{}
	var failures []string
	deadline := time.Now().Add(*soakDuration)
	var clients sync.WaitGroup
	for i := 0; i < *soakClients; i++ {
		clients.Add(1)
		go func() {
			defer clients.Done()
			c := &http.Client{Timeout: 30 * time.Second}
			defer c.CloseIdleConnections()
			for time.Now().Before(deadline) {
				tc := cases[rand.IntN(len(cases))]
				t0 := time.Now()
				st, err := tc.send(c, srv.URL)
				d := time.Since(t0)
				mu.Lock()
				tl := tallies[tc.name]
				if tl == nil {
					tl = &tally{}
					tallies[tc.name] = tl
				}
				tl.sent++
				tl.lat = append(tl.lat, d)
				switch {
				case tc.status == 0:
				case st == http.StatusServiceUnavailable: // back-pressure is a documented answer
					tl.overloaded++
				case err != nil || st != tc.status:
					tl.wrong++
					if len(failures) < 10 {
						failures = append(failures, fmt.Sprintf("%s: status %d, want %d, err %v", tc.name, st, tc.status, err))
					}
				}
				mu.Unlock()
			}
		}()
	}
	clients.Wait()
	close(stopSampling)
	sampler.Wait()
	srv.CloseClientConnections()

	// Bound: the memory budget and the upload budget, plus the runtime's garbage
	// headroom (GOGC 100 lets the heap reach twice what is live) and the model.
	bound := base + 2*(s.cfg.MemoryBudget+s.cfg.UploadBudget) + 128<<20
	assert.Empty(t, failures)
	assert.Less(t, peak, bound, "peak RSS %d MiB, bound %d MiB", peak>>20, bound>>20)
	assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseGoroutines+4 }, 10*time.Second, 20*time.Millisecond,
		"goroutines leaked: %d after, %d before", runtime.NumGoroutine(), baseGoroutines)
	assert.Equal(t, int64(0), s.limit.pending.Load(), "inference slots all released")

	report := map[string]any{"clients": *soakClients, "seconds": soakDuration.Seconds(), "peak_rss_mib": peak >> 20,
		"base_rss_mib": base >> 20, "bound_mib": bound >> 20, "cases": map[string]any{}}
	names := make([]string, 0, len(tallies))
	for n := range tallies {
		names = append(names, n)
	}
	slices.Sort(names)
	total := 0
	for _, n := range names {
		tl := tallies[n]
		slices.Sort(tl.lat)
		p := func(q float64) float64 { return float64(tl.lat[int(q*float64(len(tl.lat)-1))].Microseconds()) / 1000 }
		total += tl.sent
		t.Logf("%-28s %5d sent  %3d wrong  %3d 503  p50 %7.1f ms  p99 %7.1f ms", n, tl.sent, tl.wrong, tl.overloaded, p(0.5), p(0.99))
		report["cases"].(map[string]any)[n] = map[string]any{"sent": tl.sent, "wrong": tl.wrong, "overloaded": tl.overloaded,
			"p50_ms": p(0.5), "p99_ms": p(0.99)}
	}
	report["requests"] = total
	t.Logf("%d requests from %d clients in %v; RSS %d MiB before, peak %d MiB (bound %d MiB)", total, *soakClients, *soakDuration,
		base>>20, peak>>20, bound>>20)
	if *soakReport != "" {
		b, _ := json.MarshalIndent(report, "", "  ")
		require.NoError(t, os.WriteFile(*soakReport, b, 0o644))
	}
}
