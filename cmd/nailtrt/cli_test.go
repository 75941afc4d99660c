package main

import (
	"bytes"
	"errors"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	binOnce sync.Once
	binDir  string // removed by TestMain
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// nailtrtBinary builds the command once for every test that runs it.
func nailtrtBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "nailtrt-cli")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "nailtrt")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	require.NoError(t, binErr)
	return binPath
}

type cliRun struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, dir string, args ...string) cliRun {
	t.Helper()
	cmd := exec.Command(nailtrtBinary(t), args...)
	cmd.Dir = dir
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	cmd.Env = append(os.Environ(), "NAILTRT_MODEL="+filepath.Join(root, "engines", "nailseg.json"), "NAILTRT_BACKEND=onnxruntime")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return cliRun{code, out.String(), errb.String()}
}

// Every mistake a new user made in their first hour gets a non-zero exit and a message
// that says what to do; nothing is silently ignored.
func TestCLISaysNoAndWhy(t *testing.T) {
	photo, err := filepath.Abs(filepath.Join("..", "..", "docs", "examples", "hand.jpg"))
	require.NoError(t, err)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad mask", []string{"segment", "--mask", "bogus", photo}, 1, `--mask "bogus": want polygon, rle, png or none`},
		{"two photos", []string{"segment", photo, photo}, 1, "takes one photo, got 2"},
		{"unknown option", []string{"serve", "--port", "9000"}, 1, "did you mean --addr?"},
		{"duration without unit", []string{"serve", "--cache-ttl", "5"}, 1, "write 5s"},
		{"output format", []string{"render", photo, "-o", "x.webp"}, 1, "use .jpg, .jpeg or .png"},
		{"output without extension", []string{"render", photo, "-o", "x"}, 1, "use .jpg, .jpeg or .png"},
		{"near preset", []string{"render", photo, "--material", "metallic-gold"}, 1, `did you mean "metallic_gold"`},
		{"onnx for a manifest", []string{"segment", photo, "--model", "engines/nailseg.onnx"}, 1, "JSON manifest"},
		{"serve that cannot load", []string{"serve", "--model", "nope.json", "--addr", "127.0.0.1:0"}, 1, "--lazy"},
		{"unknown command", []string{"segmnt"}, 2, `did you mean "segment"?`},
		{"info of a missing model", []string{"info", "--model", "nope.json"}, 1, "model: invalid model manifest"},
		{"bench without a photo", []string{"bench"}, 1, "--image is required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, dir, c.args...)
			assert.Equal(t, c.code, r.code, r.stderr)
			assert.Contains(t, r.stderr, c.want)
		})
	}
	help := runCLI(t, dir, "segment", "--help")
	assert.Equal(t, 0, help.code)
	assert.Contains(t, help.stdout, "usage: nailtrt segment", "asked-for help goes to stdout")
}

func TestCLISegmentAndRender(t *testing.T) {
	photo, err := filepath.Abs(filepath.Join("..", "..", "docs", "examples", "hand.jpg"))
	require.NoError(t, err)
	dir := t.TempDir()

	seg := runCLI(t, dir, "segment", "--mask", "png", photo)
	require.Equal(t, 0, seg.code, seg.stderr)
	assert.Equal(t, 1, bytes.Count([]byte(seg.stdout), []byte("\n")), "compact JSON: one line")
	assert.Contains(t, seg.stdout, `"mask_png":"`, "--mask png puts the PNG in the JSON, as HTTP does")
	assert.Regexp(t, `^\d+ nails? found in `, seg.stderr)
	pretty := runCLI(t, dir, "segment", "--pretty", photo)
	assert.Greater(t, bytes.Count([]byte(pretty.stdout), []byte("\n")), 10)

	// Finish without a colour refines the preset (it fell back to glossy red before).
	r := runCLI(t, dir, "render", photo, "--finish", "matte", "--glossiness", "0.1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "glossy_red (matte) -> "+filepath.Join(dir, "rendered.jpg"), "says where it wrote")
	f, err := os.Open(filepath.Join(dir, "rendered.jpg"))
	require.NoError(t, err)
	_, err = jpeg.Decode(f)
	f.Close()
	require.NoError(t, err)

	r = runCLI(t, dir, "render", photo, "--color", "#3a7bd5", "--metallic", "0.9", "--intensity", "0.5", "-o", "out.png")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "custom (metallic)")
	f, err = os.Open(filepath.Join(dir, "out.png"))
	require.NoError(t, err)
	_, err = png.Decode(f)
	f.Close()
	require.NoError(t, err, "-o .png writes a PNG")
}

// version and --version name the build, the bundled model and the libraries; info with
// no model describes the bundled one (built in), from any directory.
func TestCLIVersionAndBundledInfo(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		r := runCLI(t, t.TempDir(), arg)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "nailtrt ")
		assert.Regexp(t, `bundled model: nailseg(-int8)?@\d+\.\d+\.\d+`, r.stdout)
		assert.Contains(t, r.stdout, "onnxruntime")
	}
	cmd := exec.Command(nailtrtBinary(t), "info")
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NAILTRT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "NAILTRT_BACKEND=onnxruntime")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Regexp(t, `model nailseg(-int8)?@\S+ \(bundled, built into this binary, semantic\) on onnxruntime`, string(out))
	assert.Contains(t, string(out), "input image float32")
}
