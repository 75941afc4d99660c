// Command startup measures what the README's "Start-up and memory" reports for
// `nailtrt serve` with the bundled model on the CPU: the time from exec to the port
// answering /healthz and to /readyz (the models loaded and warmed up), seen by a client
// polling every millisecond; the resident memory at rest (ready, before any request);
// and the resident memory after a load of mixed 12 MP requests (a 4032x3024 JPEG with
// other bytes each time, half of them renders, four at a time) with its peak.
//
//	make build && go run ./tools/startup -starts 16 -load 100
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/nailtrt/nailtrt/internal/benchkit"
)

func main() {
	bin := flag.String("bin", "bin/nailtrt", "the nailtrt binary (make build)")
	starts := flag.Int("starts", 16, "how many times to start the server")
	load := flag.Int("load", 100, "requests of the load run after the starts (0: none)")
	flag.Parse()
	log.SetFlags(0)

	var listening, ready, rest []float64
	for i := range *starts {
		s := start(*bin)
		listening, ready = append(listening, ms(s.listening)), append(ready, ms(s.ready))
		time.Sleep(500 * time.Millisecond) // let the warm-up's garbage settle
		rest = append(rest, benchkit.ProcessMiB(s.cmd.Process.Pid, "VmRSS"))
		s.stop()
		log.Printf("start %d: listening %.0f ms, ready %.0f ms, %.0f MiB at rest", i+1, listening[i], ready[i], rest[i])
	}
	fmt.Printf("listening: %s ms\nready: %s ms\nat rest: %s MiB\n", summary(listening), summary(ready), summary(rest))
	if *load == 0 {
		return
	}
	s := start(*bin)
	defer s.stop()
	if err := run(s.base, *load); err != nil {
		log.Fatal(err)
	}
	pid := s.cmd.Process.Pid
	fmt.Printf("after %d mixed 12 MP requests: %.0f MiB resident, peak %.0f MiB\n", *load,
		benchkit.ProcessMiB(pid, "VmRSS"), benchkit.ProcessMiB(pid, "VmHWM"))
}

type server struct {
	cmd              *exec.Cmd
	base             string
	listening, ready time.Duration
}

// start runs `serve` on a free loopback port and waits for /healthz, then /readyz.
func start(bin string) *server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--backend", "onnxruntime")
	cmd.Env = append(slices.Clone(os.Environ()), "NAILTRT_ADDR="+addr, "NAILTRT_LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	s := &server{cmd: cmd, base: "http://" + addr}
	client := &http.Client{Timeout: time.Second}
	ok := func(path string) bool {
		resp, err := client.Get(s.base + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for !ok("/healthz") {
		wait(t0)
	}
	s.listening = time.Since(t0)
	for !ok("/readyz") {
		wait(t0)
	}
	s.ready = time.Since(t0)
	return s
}

func wait(t0 time.Time) {
	if time.Since(t0) > 2*time.Minute {
		log.Fatal("the server did not get ready in 2 minutes")
	}
	time.Sleep(time.Millisecond)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// run sends n requests, four at a time: a 12 MP JPEG with other bytes each time, every
// other one a render.
func run(base string, n int) error {
	example, err := benchkit.ExamplePhoto()
	if err != nil {
		return err
	}
	photo, err := benchkit.ScaledJPEG(example, 4032, 3024, 1)
	if err != nil {
		return err
	}
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range jobs {
				errs <- request(base, benchkit.VaryJPEG(photo, fmt.Sprintf("startup-%d", i)), i%2 == 1)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func request(base string, photo []byte, render bool) error {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("file", "photo.jpg")
	if err != nil {
		return err
	}
	part.Write(photo)
	path := "/api/nails/segment"
	if render {
		path = "/api/nails/render"
		w.WriteField("material", "glossy_red")
	}
	w.Close()
	resp, err := http.Post(base+path, w.FormDataContentType(), &body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", path, resp.StatusCode)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summary is "min-max (median m)".
func summary(v []float64) string {
	s := slices.Clone(v)
	slices.Sort(s)
	return fmt.Sprintf("%.0f-%.0f (median %.0f)", s[0], s[len(s)-1], s[len(s)/2])
}
