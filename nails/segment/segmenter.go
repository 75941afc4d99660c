package segment

import (
	"context"
	"fmt"
	"image"
	"runtime"
	"time"

	"github.com/nailtrt/nailtrt/nails"
	"github.com/nailtrt/nailtrt/trt"
)

// Config configures Open. The zero value runs the bundled model; every zero field
// takes its default from Options (the same table the nailtrt command's flags come from).
type Config struct {
	// Model is a manifest path (e.g. engines/nailseg.json), "builtin:<name>" for a model
	// built into the binary (package engines: nailseg, nailseg-int8, nailseg-live), or
	// "" for the bundled photo model in the build that suits this machine and Backend
	// (DefaultModel: INT8 on a CPU with VNNI, else float).
	Model   string
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
	Limits   nails.Limits
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

	// runnerOnCPU runs pre- and post-processing in the runner on ONNX Runtime too (its
	// CPU references), as TensorRT always does: for tests of that path on machines
	// without a GPU (export_test.go).
	runnerOnCPU bool
}

// DefaultGPUBatch is the automatic MaxBatch on TensorRT.
const DefaultGPUBatch = 8

// Segmenter finds nails with one model. It is safe for concurrent use; at most
// Config.Contexts inferences run at once and the other callers wait their turn. The
// caller must Close it.
type Segmenter struct {
	cfg      Config
	manifest *nails.Manifest
	engine   *trt.Engine
	wide     *trt.Engine // the every-core session of automatic threads; nil if none
	lanes    *lanes
	post     nails.Postprocessor
	runner   *runnerPrePost // pre- and post-processing in the runner (TensorRT); nil: in Go
	input    int            // index of the image input tensor
	batch    *batcher       // every request goes through it (alone: a batch of one)
}

// Open loads the model a manifest describes (Config.Model; "" is the bundled model) and
// prepares Config.Contexts contexts. A backend that cannot run here is an error that
// matches nails.ErrUnavailable.
func Open(ctx context.Context, cfg Config) (*Segmenter, error) {
	s, err := open(ctx, cfg)
	if err != nil {
		return nil, domainError(err)
	}
	return s, nil
}

func open(ctx context.Context, cfg Config) (*Segmenter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg.Model = cfg.modelName()
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

// Preflight runs the checks Open would fail on that take no time: the manifest, the
// model file it names (and its SHA-256) and the backend. A server that loads in the
// background calls it first, so a model that can never load stops it at start.
func Preflight(cfg Config) error {
	if _, _, err := LoadModel(cfg.modelName()); err != nil {
		return err
	}
	backend, err := trt.ParseBackend(cfg.Backend)
	if err != nil {
		return err
	}
	_, err = trt.Probe(backend)
	return domainError(err)
}

func (s *Segmenter) init() error {
	m := s.manifest
	in := s.engine.Inputs()
	if len(in) != 1 {
		return wrap(nails.ErrManifest, "model has %d inputs; nailtrt feeds exactly one image", len(in))
	}
	t := in[0]
	if m.Input.Name != "" && t.Name != m.Input.Name {
		return wrap(nails.ErrManifest, "manifest input %q, the model's is %q", m.Input.Name, t.Name)
	}
	want := trt.Shape{int64(m.Batch()), 3, int64(m.Input.Height), int64(m.Input.Width)}
	// Buffers hold the largest run: one request's images, or a whole batch.
	runMax := want.Clone()
	if s.cfg.MaxBatch > 0 {
		runMax[0] = int64(s.cfg.MaxBatch)
	}
	if t.DType != trt.Float32 {
		return wrap(nails.ErrManifest, "input %s is %s, expected float32", t.Name, t.DType)
	}
	if err := want.Validate(t.Shape); err != nil {
		return wrap(nails.ErrManifest, "input %s %v cannot take %v: %v", t.Name, t.Shape, want, err)
	}
	s.input = t.Index
	post, err := nails.NewPostprocessor(m, lookupOutput(s.engine))
	if err != nil {
		return err
	}
	s.post = post
	if s.runner, err = newRunnerPrePost(m, s.engine, s.engine.Backend() == trt.TensorRT || s.cfg.runnerOnCPU); err != nil {
		return err
	}
	// Exported models often leave output dims dynamic (a map resized to the input comes
	// out as [-1,-1,-1,-1]); one probe run at the manifest's input size tells the real
	// shapes, and the slots' buffers are sized from them.
	shapes, err := s.engine.OutputShapes(map[string]trt.Shape{t.Name: runMax})
	if err != nil {
		return err
	}
	if s.cfg.MaxBatch > m.Batch() {
		// A batch is split by the first dimension of every output.
		for name, sh := range shapes {
			if len(sh) == 0 || sh[0] != runMax[0] {
				return wrap(nails.ErrManifest, "output %s is %v for a batch of %d: its first dimension is not the batch, so requests cannot be batched (set MaxBatch 1)", name, sh, runMax[0])
			}
		}
	}
	s.batch = newBatcher(s, int(runMax[0]), s.cfg.BatchDelay) // runMax[0]: MaxBatch, or one request
	shapes[t.Name] = runMax
	po := trt.PoolOptions{Size: s.cfg.Contexts, Device: s.cfg.Device, MaxBatch: int(runMax[0]), MaxShapes: shapes}
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
func (s *Segmenter) Manifest() *nails.Manifest { return s.manifest }

// Backend names the runtime that executes the model: "onnxruntime" or "tensorrt".
func (s *Segmenter) Backend() string { return s.engine.Backend().String() }

// Segment decodes a photo (at the size the model needs, as Decode does, into pooled
// planes: SegmentHeader) and finds its nails.
func (s *Segmenter) Segment(ctx context.Context, data []byte) (*nails.Result, error) {
	h, err := nails.ReadHeader(data)
	if err != nil {
		return nil, err
	}
	return s.SegmentHeader(ctx, data, h)
}

// SegmentHeader is Segment for a photo whose header the caller has read (to check or
// admit it first). The decoded photo never leaves this call, so its planes come from a
// pool and go back to it once the nails are found: a 12 MP JPEG's 1/4-scale planes are
// 1.1 MB that a busy server would otherwise allocate and collect per request.
func (s *Segmenter) SegmentHeader(ctx context.Context, data []byte, h nails.Header) (*nails.Result, error) {
	t0 := time.Now()
	p, release, err := nails.DecodePooled(ctx, data, h, s.cfg.Limits, s.decodeSize(h))
	if err != nil {
		return nil, err
	}
	decode := time.Since(t0)
	res, err := s.SegmentPhoto(ctx, p)
	// SegmentPhoto reads the photo only before it returns (a batch member preprocesses
	// before it joins), and its Result holds none of it. Not deferred: after a panic
	// (which the server recovers) a piece of spread may still be reading the planes, so
	// they are left to the collector then.
	release()
	if err != nil {
		return nil, err
	}
	res.Timings.Decode = decode
	return res, nil
}

// Decode decodes a photo at the smallest size that still covers the model's input
// (nails.DecodeReduced): all SegmentPhoto needs, at a fraction of a full decode's time and
// memory for a large JPEG. Results are in the photo's full-size coordinates.
func (s *Segmenter) Decode(ctx context.Context, data []byte, h nails.Header) (*nails.Photo, error) {
	return nails.DecodeReduced(ctx, data, h, s.cfg.Limits, s.decodeSize(h))
}

// decodeSize is the least size, as displayed, that a photo with header h is decoded at
// for the model: its letterboxed size in the model input.
func (s *Segmenter) decodeSize(h nails.Header) image.Point { return s.manifest.DecodeSize(h) }

// SegmentPhoto finds the nails of an already decoded photo.
func (s *Segmenter) SegmentPhoto(ctx context.Context, p *nails.Photo) (*nails.Result, error) {
	if err := s.cfg.Limits.CheckPhoto(p); err != nil {
		return nil, err
	}
	res, err := s.batch.segment(ctx, p)
	return res, domainError(err)
}

// result finishes decoded nails (areas, boxes, contours, numbering) into p's nails.Result;
// postprocessing is timed from t.
func (s *Segmenter) result(p *nails.Photo, found []nails.Nail, tm nails.Timings, t time.Time) *nails.Result {
	found = nails.FinishNails(found, s.cfg.PolygonTolerance)
	tm.Postprocess = time.Since(t)
	return &nails.Result{Width: p.Width, Height: p.Height, Model: s.manifest.ID(), Nails: found, Timings: tm}
}

// prepare writes p's model input into buf (nails.Manifest.Prepare).
func (s *Segmenter) prepare(p *nails.Photo, buf []float32) (nails.Geometry, error) {
	return s.manifest.Prepare(p, buf)
}

func wrapInference(err error) error { return fmt.Errorf("nails: inference: %w", err) }

// wrap attaches detail to one of the nails error classes.
func wrap(class error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", class, fmt.Sprintf(format, args...))
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
