package nails

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// OutputFormat is a model output layout the postprocessors understand (OutputSpec.Format);
// an image's format is a plain string ("jpeg", "png", ...: Header.Format), a different idea.
type OutputFormat string

const (
	FormatSemantic OutputFormat = "semantic"
	FormatRFDETR   OutputFormat = "rfdetr-seg"
	FormatYOLO     OutputFormat = "yolo-seg"
)

// Resize is how a photo is fitted to the model's input (InputSpec.Resize).
type Resize string

const (
	ResizeLetterbox Resize = "letterbox" // keep the aspect ratio, pad the rest (default)
	ResizeStretch   Resize = "stretch"   // scale each axis to fit
)

// ColorOrder is the channel order the model takes (InputSpec.Color).
type ColorOrder string

const (
	ColorRGB ColorOrder = "RGB" // default
	ColorBGR ColorOrder = "BGR"
)

// TTA is a test-time augmentation (Manifest.TTA).
type TTA string

const (
	TTANone  TTA = ""
	TTAHFlip TTA = "hflip" // the mirrored photo runs in the same batch; the logit maps are averaged
)

// Manifest describes a bundled model (engines/<name>.json): how to feed it and how to
// read its outputs.
type Manifest struct {
	Name      string     `json:"name"`
	Version   string     `json:"version"`
	File      string     `json:"file"`   // ONNX (or plan) path, relative to the manifest
	SHA256    string     `json:"sha256"` // of File; checked at load when set
	Input     InputSpec  `json:"input"`
	Output    OutputSpec `json:"output"`
	Threshold float64    `json:"threshold"` // instance score / pixel probability threshold
	// TTA is test-time augmentation: "" (none) or "hflip", which also runs the mirrored
	// photo in the same batch and averages the two logit maps (semantic models only).
	TTA     TTA                           `json:"tta,omitempty"`
	Classes []string                      `json:"classes"`
	Metrics map[string]map[string]float64 `json:"metrics,omitempty"`

	dir      string // folder of the manifest file
	cacheTag string // CacheID's digest of what changes answers
}

// InputSpec says how a photo becomes the input tensor.
type InputSpec struct {
	Name   string     `json:"name"`
	Height int        `json:"height"`
	Width  int        `json:"width"`
	Layout string     `json:"layout"` // "NCHW"
	Color  ColorOrder `json:"color"`  // ColorRGB or ColorBGR
	Scale  float64    `json:"scale"`  // e.g. 1/255
	Mean   [3]float64 `json:"mean"`
	Std    [3]float64 `json:"std"`
	Resize Resize     `json:"resize"` // ResizeLetterbox or ResizeStretch
	Pad    [3]float64 `json:"pad"`    // letterbox fill colour, 0..255 RGB
}

// OutputSpec names the output tensors of each format, plus decoding knobs.
type OutputSpec struct {
	Format OutputFormat `json:"format"`
	// semantic
	Logits  string `json:"logits,omitempty"`
	MinArea int    `json:"min_area,omitempty"` // smallest component, in model-input pixels
	// MinScore drops a component whose mean probability is under it (0: none dropped):
	// a faint blob on a sleeve or a wall passes the pixel threshold in places only. At or
	// under Threshold it drops nothing, as every pixel of a component is above that.
	MinScore float64 `json:"min_score,omitempty"`
	// MaskThreshold is the probability at which a kept nail's mask is drawn (0: the
	// manifest's Threshold). Components are still found and scored at Threshold; a lower
	// mask threshold draws each found nail out to its fainter rim.
	MaskThreshold float64 `json:"mask_threshold,omitempty"`
	// rfdetr-seg
	Dets   string `json:"dets,omitempty"`
	Labels string `json:"labels,omitempty"`
	Masks  string `json:"masks,omitempty"`
	TopK   int    `json:"topk,omitempty"`
	// yolo-seg
	Boxes  string  `json:"boxes,omitempty"`
	Protos string  `json:"protos,omitempty"`
	NMSIoU float64 `json:"nms_iou,omitempty"`
	// rfdetr-seg and yolo-seg: at most this many instances
	MaxDetections int `json:"max_detections,omitempty"`
}

// LoadManifest reads and validates a manifest file.
func LoadManifest(path string) (*Manifest, error) {
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		return nil, wrap(ErrManifest, "%s is an ONNX file: give the model's JSON manifest instead (such as "+
			"engines/nailseg.json), which names the ONNX file with its input size, normalisation and post-processing", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	m, err := parseManifest(data, filepath.Dir(path))
	if err != nil {
		return nil, wrap(ErrManifest, "%s: %v", path, err)
	}
	return m, nil
}

// ParseManifest parses and validates manifest JSON; dir is where a relative model file
// is looked up. Errors wrap ErrManifest.
func ParseManifest(data []byte, dir string) (*Manifest, error) {
	m, err := parseManifest(data, dir)
	if err != nil {
		return nil, wrap(ErrManifest, "%v", err)
	}
	return m, nil
}

func parseManifest(data []byte, dir string) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	m.dir = dir
	m.applyDefaults()
	if err := m.validate(); err != nil {
		return nil, err
	}
	tag, err := m.answerDigest()
	if err != nil {
		return nil, wrap(ErrManifest, "%v", err)
	}
	m.cacheTag = tag
	return &m, nil
}

// answerDigest is 12 hex digits of SHA-256 over the manifest as validated, less what
// does not change an answer: the metrics, and the file's path (replicas may keep it in
// different places; its SHA256 field stays in).
func (m *Manifest) answerDigest() (string, error) {
	c := *m
	c.Metrics, c.File, c.dir, c.cacheTag = nil, "", "", ""
	data, err := json.Marshal(c) // plain fields read from JSON: fails only on a bug
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6]), nil
}

// ModelPath is the absolute-or-relative path of the model file.
func (m *Manifest) ModelPath() string {
	if filepath.IsAbs(m.File) {
		return m.File
	}
	return filepath.Join(m.dir, m.File)
}

// ID identifies the model in responses: "name@version".
func (m *Manifest) ID() string { return m.Name + "@" + m.Version }

// CacheID identifies the model's answers in cache keys: ID and a digest of the input,
// output and post-processing settings, so that a manifest edited without a new version
// (a threshold or min score tried on a running fleet) never serves answers cached under
// the old settings from a shared cache.
func (m *Manifest) CacheID() string { return m.ID() + "+" + m.cacheTag }

// Batch is how many images one photo becomes at the model's input (2 with hflip TTA).
func (m *Manifest) Batch() int {
	if m.TTA == TTAHFlip {
		return 2
	}
	return 1
}

// applyDefaults fills what a manifest may leave out: NCHW, RGB, a 1/255 scale, unit
// standard deviations, letterbox, threshold 0.5, and the output format's own defaults.
// A value it fills is always one validate accepts.
func (m *Manifest) applyDefaults() {
	in := &m.Input
	if in.Layout == "" {
		in.Layout = "NCHW"
	}
	if in.Color == "" {
		in.Color = ColorRGB
	}
	if in.Scale == 0 {
		in.Scale = 1.0 / 255
	}
	for i := range 3 {
		if in.Std[i] == 0 {
			in.Std[i] = 1
		}
	}
	if in.Resize == "" {
		in.Resize = ResizeLetterbox
	}
	if m.Threshold == 0 {
		m.Threshold = 0.5
	}
	o := &m.Output
	switch o.Format {
	case FormatRFDETR:
		if o.TopK <= 0 {
			o.TopK = 100
		}
	case FormatYOLO:
		if o.NMSIoU <= 0 {
			o.NMSIoU = 0.45
		}
	}
	if o.MaxDetections <= 0 {
		o.MaxDetections = 100
	}
}

// validate checks a manifest whose defaults are filled (applyDefaults). Every problem
// is reported, not just the first, so that one edit of the file can fix them all.
func (m *Manifest) validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if m.Name == "" {
		bad("name is empty")
	}
	if m.File == "" {
		bad("file is empty")
	}
	m.Input.check(bad)
	if m.Threshold <= 0 || m.Threshold >= 1 {
		bad("threshold %v must be in (0,1)", m.Threshold)
	}
	m.Output.check(bad)
	switch m.TTA {
	case TTANone:
	case TTAHFlip:
		if m.Output.Format != FormatSemantic {
			bad("tta %q is only supported for the %s format", m.TTA, FormatSemantic)
		}
	default:
		bad("tta %q must be empty or hflip", m.TTA)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// check reports what is wrong with an input spec to bad.
func (in *InputSpec) check(bad func(format string, args ...any)) {
	if in.Height <= 0 || in.Width <= 0 || in.Height > 4096 || in.Width > 4096 {
		bad("input size %dx%d is outside 1..4096", in.Width, in.Height)
	}
	if in.Layout != "NCHW" {
		bad("input layout %q is not supported (NCHW only)", in.Layout)
	}
	if in.Color != ColorRGB && in.Color != ColorBGR {
		bad("input color %q must be RGB or BGR", in.Color)
	}
	if in.Resize != ResizeLetterbox && in.Resize != ResizeStretch {
		bad("input resize %q must be letterbox or stretch", in.Resize)
	}
}

// check reports what is wrong with an output spec to bad: the tensors its format
// needs, and knobs set for a format that does not read them.
func (o *OutputSpec) check(bad func(format string, args ...any)) {
	switch o.Format {
	case FormatSemantic:
		if o.Logits == "" {
			bad("output.logits (tensor name) is required for %s", o.Format)
		}
	case FormatRFDETR:
		if o.Dets == "" || o.Labels == "" || o.Masks == "" {
			bad("output.dets, output.labels and output.masks are required for %s", o.Format)
		}
	case FormatYOLO:
		if o.Boxes == "" || o.Protos == "" {
			bad("output.boxes and output.protos are required for %s", o.Format)
		}
	default:
		bad("output.format %q is not one of %s, %s, %s", o.Format, FormatSemantic, FormatRFDETR, FormatYOLO)
	}
	// The semantic postprocessor's probabilities; 0 turns each off.
	for _, f := range []struct {
		name string
		v    float64
	}{{"min_score", o.MinScore}, {"mask_threshold", o.MaskThreshold}} {
		if !(f.v >= 0 && f.v < 1) { // NaN too
			bad("output.%s %v must be in [0,1) (0: off)", f.name, f.v)
		} else if f.v > 0 && o.Format != FormatSemantic {
			bad("output.%s is only supported for the %s format", f.name, FormatSemantic)
		}
	}
}

// VerifyFile checks the model file's sha256 against the manifest (when it has one).
func (m *Manifest) VerifyFile() error {
	if m.SHA256 == "" {
		return nil
	}
	f, err := os.Open(m.ModelPath())
	if err != nil {
		return wrap(ErrManifest, "model file: %v", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return wrap(ErrManifest, "read model file: %v", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, m.SHA256) {
		return wrap(ErrManifest, "%s has sha256 %s, the manifest says %s (stale manifest or corrupt file)", m.ModelPath(), got, m.SHA256)
	}
	return nil
}
