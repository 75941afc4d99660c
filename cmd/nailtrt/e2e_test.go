package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeEndToEnd builds the real binary, starts `nailtrt serve` with the bundled
// model on the CPU, waits for /readyz, posts a real hand photo from the dataset and
// checks the nails found, then stops it with SIGTERM.
func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	model := filepath.Join(root, "engines", "nailseg.json")
	if _, err := os.Stat(model); err != nil {
		t.Skipf("bundled model missing: %v", err)
	}
	dataset := os.Getenv("NAILTRT_DATASET")
	if dataset == "" {
		dataset = filepath.Join(root, "..", "shared", "datasets", "nails")
	}
	photo, want := pickHandPhoto(t, dataset)

	bin := nailtrtBinary(t)

	port := freePort(t)
	cmd := exec.Command(bin, "serve", "--backend", "onnxruntime", "--threads", "1")
	cmd.Dir = t.TempDir() // the model must be found next to the binary's tree or via NAILTRT_MODEL
	// A HOME of its own that must stay empty: nothing leaves the process, and ONNX
	// Runtime's telemetry kept a device id and an events database under
	// ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ until the runner turned it off.
	home := t.TempDir()
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_") || strings.HasPrefix(kv, "ORT_")
	})
	cmd.Env = append(env, "HOME="+home, "NAILTRT_ADDR=127.0.0.1:"+port, "NAILTRT_MODEL="+model, "NAILTRT_LOG_FORMAT=json")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, cmd.Start())
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()
	defer cmd.Process.Kill()

	base := "http://127.0.0.1:" + port
	var listening, ready time.Duration
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		if listening == 0 {
			listening = time.Since(start)
		}
		resp, err = http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 5*time.Millisecond)
	ready = time.Since(start)
	t.Logf("exec -> listening %v, -> ready %v (as seen by a polling client)", listening.Round(time.Millisecond), ready.Round(time.Millisecond))

	data, err := os.ReadFile(photo)
	require.NoError(t, err)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("file", filepath.Base(photo))
	part.Write(data)
	w.Close()
	resp, err := http.Post(base+"/api/nails/segment", w.FormDataContentType(), &body)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	var res struct {
		Width, Height int
		Nails         []struct {
			Score   float64
			Polygon []int
		}
	}
	require.NoError(t, json.Unmarshal(raw, &res))
	t.Logf("%s: %d nails found, %d labelled", filepath.Base(photo), len(res.Nails), want)
	assert.GreaterOrEqual(t, len(res.Nails), max(1, want/2), "the model finds the nails of a real hand")
	assert.LessOrEqual(t, len(res.Nails), want*2+2)
	for _, n := range res.Nails {
		assert.NotEmpty(t, n.Polygon)
	}

	// SIGTERM under load: requests in flight finish, later ones are refused cleanly
	// (503 or a closed connection, never a hang or a reset mid-answer), exit status 0.
	var wg sync.WaitGroup
	var answered, refused atomic.Int32
	bad := make(chan string, 100)
	stop := make(chan struct{})
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 30 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				var b bytes.Buffer
				mw := multipart.NewWriter(&b)
				p, _ := mw.CreateFormFile("file", "hand.jpg")
				p.Write(data)
				mw.WriteField("material", "glossy_red")
				mw.Close()
				resp, err := c.Post(base+"/api/nails/render", mw.FormDataContentType(), &b)
				if err != nil {
					refused.Add(1)
					return // the listener is closed: shutdown has begun
				}
				_, rerr := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusOK && rerr == nil:
					answered.Add(1)
				case resp.StatusCode == http.StatusServiceUnavailable:
					refused.Add(1)
				default:
					bad <- fmt.Sprintf("status %d, body error %v", resp.StatusCode, rerr)
				}
			}
		}()
	}
	// Under load: renders are being answered, and the six clients keep more in flight.
	require.Eventually(t, func() bool { return answered.Load() > 0 }, 60*time.Second, 5*time.Millisecond, "no render answered")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "exits cleanly on SIGTERM")
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	close(stop)
	wg.Wait()
	close(bad)
	for b := range bad {
		t.Errorf("during shutdown: %s", b)
	}
	t.Logf("SIGTERM under load: %d renders answered, %d refused after shutdown began", answered.Load(), refused.Load())
	assert.Positive(t, answered.Load())
	var sawListening bool
	for l := range logs {
		sawListening = sawListening || strings.Contains(l, `"msg":"listening"`)
	}
	assert.True(t, sawListening)
	var written []string
	require.NoError(t, filepath.WalkDir(home, func(path string, _ fs.DirEntry, err error) error {
		if path != home {
			written = append(written, path)
		}
		return err
	}))
	assert.Empty(t, written, "serving wrote under $HOME (telemetry?)")
}

// pickHandPhoto returns a hands/val photo and its labelled nail count.
func pickHandPhoto(t *testing.T, dataset string) (string, int) {
	f, err := os.Open(filepath.Join(dataset, "manifest.csv"))
	if err != nil {
		t.Skipf("dataset not found at %s (set NAILTRT_DATASET): %v", dataset, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	for _, r := range rows[1:] {
		// id,source,split,image,mask,width,height,nails
		if r[1] == "hands" && r[2] == "val" && r[7] == "5" && strings.HasSuffix(r[3], ".jpg") {
			var n int
			fmt.Sscan(r[7], &n)
			return filepath.Join(dataset, r[3]), n
		}
	}
	t.Skip("no hands/val photo with 5 nails in the dataset")
	return "", 0
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
