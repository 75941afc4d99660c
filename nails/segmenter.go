package nails

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/nailtrt/nailtrt/engines"
	"github.com/nailtrt/nailtrt/trt"
)

// Config configures Open. The zero value runs the bundled model; every zero field
// takes its default from Options (the same table the nailtrt command's flags come from).
type Config struct {
	Model   string // manifest path, e.g. engines/nailseg.json; "" = the bundled model (built in)
	Backend string // auto (default), onnxruntime or tensorrt
	// Threads is ONNX Runtime's intra-op threads per inference. 0 (default) fits them
	// to the load: a request alone in flight runs on every core, concurrent ones share
	// the cores (GOMAXPROCS / Contexts each, which follows a container CPU limit); see lanes.
	Threads int
	// Contexts is how many inferences may run at once (execution contexts); default 2.
	// On CPUs, two single-threaded contexts beat one two-threaded context on throughput
	// (1.9x vs 1.8x on 2 cores, trt's BenchmarkThroughput) and are steadier.
	Contexts int
	Device   int    // CUDA device
	CacheDir string // TensorRT plan cache folder; default DefaultCacheDir()
	Limits   Limits
	// PolygonTolerance is the Douglas-Peucker tolerance of contours in pixels;
	// 0 means the default (1.0), negative keeps every corner.
	PolygonTolerance float64
	// MaxBatch is the most images one model run takes when concurrent requests are
	// batched (see batcher; a TTA mirror counts as an image). 0 is automatic: 8 on
	// TensorRT, off on ONNX Runtime, where it costs latency and adds no throughput on
	// this project's CPUs (README "Scaling out"). 1, or fewer than two requests' images,
	// turns it off.
	MaxBatch int
	// BatchDelay is the longest the first request of a batch waits for others to join
	// (they also join while it waits for a free context); default 1 ms.
	BatchDelay time.Duration
}

// DefaultGPUBatch is the automatic MaxBatch on TensorRT.
const DefaultGPUBatch = 8

// Segmenter finds nails with one model. It is safe for concurrent use; at most
// Config.Contexts inferences run at once and the other callers wait their turn. The
// caller must Close it.
type Segmenter struct {
	cfg      Config
	manifest *Manifest
	engine   *trt.Engine
	wide     *trt.Engine // the every-core session of automatic threads; nil if none
	lanes    *lanes
	decoder  outputDecoder
	input    int      // index of the image input tensor
	batch    *batcher // nil: every request runs alone
}

// Open loads the model a manifest describes (Config.Model; "" is the bundled model) and
// prepares Config.Contexts contexts.
func Open(ctx context.Context, cfg Config) (*Segmenter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, model, err := LoadModel(cfg.Model)
	if err != nil {
		return nil, err
	}
	if cfg, err = cfg.withDefaults(); err != nil {
		return nil, err
	}
	backend, err := trt.ParseBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	autoThreads := cfg.Threads <= 0
	// The cores this process may use: GOMAXPROCS follows a container's CPU limit
	// (cgroup quota, Go >= 1.25) where NumCPU counts the whole node's, and a pod
	// limited to 2 CPUs on a 64-core node must not start 64 threads per run.
	cores := runtime.GOMAXPROCS(0)
	if autoThreads {
		cfg.Threads = max(1, cores/cfg.Contexts)
	}
	// TensorRT's optimisation profile must cover the largest batch the batcher may
	// send (and, with TTA, a single request's two images).
	per := m.Batch()
	opts := trt.Options{Backend: backend, IntraOpThreads: cfg.Threads, Device: cfg.Device,
		CacheDir: cfg.CacheDir, MaxBatch: max(per, cfg.MaxBatch), OptBatch: per}
	if cfg.MaxBatch == 0 {
		opts.MaxBatch = max(per, DefaultGPUBatch)
	}
	open := func(o trt.Options) (*trt.Engine, error) {
		if model != nil {
			return trt.OpenBytes(model, o)
		}
		return trt.Open(m.ModelPath(), o)
	}
	e, err := open(opts)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBatch == 0 && e.Backend() == trt.TensorRT {
		cfg.MaxBatch = DefaultGPUBatch
	}
	// Whole requests only: from here on MaxBatch is a multiple of a request's images.
	if cfg.MaxBatch = cfg.MaxBatch / per * per; cfg.MaxBatch < 2*per {
		cfg.MaxBatch = 0 // off: not even two requests would fit
	}
	s := &Segmenter{cfg: cfg, manifest: m, engine: e}
	if autoThreads && e.Backend() == trt.ONNXRuntime && cfg.Threads < cores {
		wide := opts
		wide.IntraOpThreads = cores
		if s.wide, err = open(wide); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.init(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// LoadModel reads and verifies the manifest at path (its model file's SHA-256 included),
// or, for "", the bundled model (package engines), whose ONNX bytes it returns too: what
// Open loads, for commands that look at the model without segmenting.
func LoadModel(path string) (*Manifest, []byte, error) {
	if path != "" {
		m, err := LoadManifest(path)
		if err != nil {
			return nil, nil, err
		}
		return m, nil, m.VerifyFile()
	}
	m, err := ParseManifest(engines.Manifest, "")
	if err != nil {
		return nil, nil, err
	}
	if sum := sha256.Sum256(engines.Model); m.SHA256 != "" && !strings.EqualFold(hex.EncodeToString(sum[:]), m.SHA256) {
		return nil, nil, wrap(ErrManifest, "the bundled model's sha256 differs from its manifest's (rebuild after make train)")
	}
	return m, engines.Model, nil
}

// Preflight runs the checks Open would fail on that take no time: the manifest, the
// model file it names (and its SHA-256) and the backend. A server that loads in the
// background calls it first, so a model that can never load stops it at start.
func Preflight(cfg Config) error {
	if _, _, err := LoadModel(cfg.Model); err != nil {
		return err
	}
	backend, err := trt.ParseBackend(cfg.Backend)
	if err != nil {
		return err
	}
	_, err = trt.Probe(backend)
	return err
}

func (s *Segmenter) init() error {
	m := s.manifest
	in := s.engine.Inputs()
	if len(in) != 1 {
		return wrap(ErrManifest, "model has %d inputs; nailtrt feeds exactly one image", len(in))
	}
	t := in[0]
	if m.Input.Name != "" && t.Name != m.Input.Name {
		return wrap(ErrManifest, "manifest input %q, the model's is %q", m.Input.Name, t.Name)
	}
	want := trt.Shape{int64(m.Batch()), 3, int64(m.Input.Height), int64(m.Input.Width)}
	// Buffers hold the largest run: one request's images, or a whole batch.
	runMax := want.Clone()
	if s.cfg.MaxBatch > 0 {
		runMax[0] = int64(s.cfg.MaxBatch)
	}
	if t.DType != trt.Float32 {
		return wrap(ErrManifest, "input %s is %s, expected float32", t.Name, t.DType)
	}
	if err := want.Validate(t.Shape); err != nil {
		return wrap(ErrManifest, "input %s %v cannot take %v: %v", t.Name, t.Shape, want, err)
	}
	s.input = t.Index
	dec, err := newDecoder(m, s.engine)
	if err != nil {
		return err
	}
	s.decoder = dec
	// Exported models often leave output dims dynamic (a map resized to the input comes
	// out as [-1,-1,-1,-1]); one probe run at the manifest's input size tells the real
	// shapes, and the slots' buffers are sized from them.
	max, err := s.engine.OutputShapes(map[string]trt.Shape{t.Name: runMax})
	if err != nil {
		return err
	}
	if s.cfg.MaxBatch > 0 {
		// A batch is split by the first dimension of every output.
		for name, sh := range max {
			if len(sh) == 0 || sh[0] != runMax[0] {
				return wrap(ErrManifest, "output %s is %v for a batch of %d: its first dimension is not the batch, so requests cannot be batched (set MaxBatch 1)", name, sh, runMax[0])
			}
		}
		s.batch = newBatcher(s, s.cfg.MaxBatch, s.cfg.BatchDelay)
	}
	max[t.Name] = runMax
	po := trt.PoolOptions{Size: s.cfg.Contexts, Device: s.cfg.Device, MaxBatch: int(runMax[0]), MaxShapes: max}
	narrow, err := trt.NewPool(s.engine, po)
	if err != nil {
		return err
	}
	var wide *trt.Pool
	if s.wide != nil {
		po.Size = 1
		if wide, err = trt.NewPool(s.wide, po); err != nil {
			narrow.Close()
			return err
		}
	}
	s.lanes = newLanes(narrow, wide)
	return nil
}

// Manifest describes the loaded model.
func (s *Segmenter) Manifest() *Manifest { return s.manifest }

// Backend is the runtime that executes the model.
func (s *Segmenter) Backend() trt.Backend { return s.engine.Backend() }

// Engine exposes the underlying engine (tensor descriptors, origin).
func (s *Segmenter) Engine() *trt.Engine { return s.engine }

// Segment decodes a photo (at the size the model needs, as Decode does, into pooled
// planes: SegmentHeader) and finds its nails.
func (s *Segmenter) Segment(ctx context.Context, data []byte) (*Result, error) {
	h, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	return s.SegmentHeader(ctx, data, h)
}

// SegmentHeader is Segment for a photo whose header the caller has read (to check or
// admit it first). The decoded photo never leaves this call, so its planes come from a
// pool and go back to it once the nails are found: a 12 MP JPEG's 1/4-scale planes are
// 1.1 MB that a busy server would otherwise allocate and collect per request.
func (s *Segmenter) SegmentHeader(ctx context.Context, data []byte, h Header) (*Result, error) {
	t0 := time.Now()
	planes := planePool.Get().(*[]byte)
	p, err := decodeReduced(ctx, data, h, s.cfg.Limits, s.decodeSize(h), planes)
	if err != nil {
		putPlanes(planes)
		return nil, err
	}
	decode := time.Since(t0)
	res, err := s.SegmentPhoto(ctx, p)
	// SegmentPhoto reads the photo only before it returns (a batch member preprocesses
	// before it joins), and its Result holds none of it. Not deferred: after a panic
	// (which the server recovers) a piece of spread may still be reading the planes, so
	// they are left to the collector then.
	putPlanes(planes)
	if err != nil {
		return nil, err
	}
	res.Timings.Decode = decode
	return res, nil
}

// planePool holds decoded YCbCr planes between SegmentHeader calls; putPlanes keeps
// only those up to maxPooledPlanes, so a rare huge decode (a stretch-resized panorama)
// is not held past its request.
var planePool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledPlanes = 4 << 20

func putPlanes(b *[]byte) {
	if cap(*b) <= maxPooledPlanes {
		planePool.Put(b)
	}
}

// Decode decodes a photo at the smallest size that still covers the model's input
// (DecodeReduced): all SegmentPhoto needs, at a fraction of a full decode's time and
// memory for a large JPEG. Results are in the photo's full-size coordinates.
func (s *Segmenter) Decode(ctx context.Context, data []byte, h Header) (*Photo, error) {
	return DecodeReduced(ctx, data, h, s.cfg.Limits, s.decodeSize(h))
}

// decodeSize is the least size, as displayed, that a photo with header h is decoded at
// for the model: its letterboxed size in the model input.
func (s *Segmenter) decodeSize(h Header) image.Point {
	size := h.Displayed()
	g := NewGeometry(size.X, size.Y, s.manifest.Input)
	return image.Pt(g.NW, g.NH)
}

// SegmentPhoto finds the nails of an already decoded photo.
func (s *Segmenter) SegmentPhoto(ctx context.Context, p *Photo) (*Result, error) {
	if least := s.cfg.Limits.withDefaults().MinSide; p.Width < least || p.Height < least {
		return nil, wrap(ErrTooSmall, "%dx%d: a side is under %d px, too small to show a fingernail", p.Width, p.Height, least)
	}
	if s.batch != nil {
		return s.batch.segment(ctx, p)
	}
	slot, err := s.lanes.acquire(ctx)
	if err != nil {
		return nil, err
	}
	released := false
	release := func() {
		if !released {
			s.lanes.release(slot)
			released = true
		}
	}
	defer release()

	var tm Timings
	t := time.Now()
	buf, err := slot.Float32s(s.input)
	if err != nil {
		return nil, err
	}
	g, err := s.prepare(p, buf)
	if err != nil {
		return nil, err
	}
	batch := s.manifest.Batch()
	if err := slot.SetInputShape(s.input, trt.Shape{int64(batch), 3, int64(g.InH), int64(g.InW)}); err != nil {
		return nil, err
	}
	tm.Preprocess = time.Since(t)

	t = time.Now()
	if err := slot.Run(ctx); err != nil {
		return nil, wrapInference(err)
	}
	tm.Infer = time.Since(t)

	t = time.Now()
	shapes, err := readShapes(slot, slot.Pool().Engine())
	if err != nil {
		return nil, err
	}
	nails, err := s.decoder.decode(outputs{slot: slot, shapes: shapes, n: batch}, g)
	release() // masks are copied out of the slot: let the next request in
	if err != nil {
		return nil, err
	}
	return s.result(p, nails, tm, t), nil
}

// result finishes decoded nails (areas, boxes, contours, numbering) into p's Result;
// postprocessing is timed from t.
func (s *Segmenter) result(p *Photo, nails []Nail, tm Timings, t time.Time) *Result {
	nails = finish(nails, s.cfg.PolygonTolerance)
	tm.Postprocess = time.Since(t)
	return &Result{Width: p.Width, Height: p.Height, Model: s.manifest.ID(), Nails: nails, Timings: tm}
}

// prepare writes p's model input into buf: the letterboxed, normalised photo and, with
// mirror TTA, its mirror image after it (in the same pass, for an upright JPEG).
func (s *Segmenter) prepare(p *Photo, buf []float32) (Geometry, error) {
	g := NewGeometry(p.Width, p.Height, s.manifest.Input)
	var mirrored []float32
	if s.manifest.TTA == TTAHFlip {
		mirrored = buf[3*g.InW*g.InH:]
	}
	return g, preprocess(p, g, s.manifest.Input, buf, mirrored)
}

func wrapInference(err error) error { return fmt.Errorf("nails: inference: %w", err) }

// mirror writes src (rows of width w) into dst flipped left to right. The loop runs
// down the output row so the compiler can drop both bounds checks (1.7x faster than
// indexing out[w-1-x] for a 512x512x3 tensor).
func mirror(src, dst []float32, w int) {
	for r := 0; r+w <= len(src); r += w {
		row, out := src[r:r+w], dst[r:r+w]
		for j := len(out) - 1; j >= 0; j-- {
			out[j] = row[len(row)-1-j]
		}
	}
}

// Close frees the contexts and the engine. Requests still running finish first.
func (s *Segmenter) Close() error {
	var first error
	if s.lanes != nil {
		first = s.lanes.close()
		s.lanes = nil
	}
	for _, e := range []**trt.Engine{&s.wide, &s.engine} {
		if *e != nil {
			if err := (*e).Close(); err != nil && first == nil {
				first = err
			}
			*e = nil
		}
	}
	return first
}
