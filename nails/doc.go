// Package nails is nailtrt's domain: photos in, fingernails out, polish painted on.
// Running the model is package nails/segment's job; it calls the pieces below around
// each run.
//
// It must not import the runtime or the runner (nails/segment, trt), nor anything
// above it (server, web, cmd): only option and internal helpers. Built with -tags
// nonative, its tests (all but orientation_test.go, which runs the whole pipeline
// through nails/segment) and the server's fake-model tests link no native runner;
// make test-layers holds it.
//
// One file per idea:
//
//	header.go, exif.go      bytes -> Header: format sniffed, Limits checked before any decode; EXIF orientation
//	decode.go, jpeg_*.go    bytes and Header -> Photo (libjpeg-turbo for JPEG, at the scale the model needs)
//	photo.go                Photo: planes or RGBA, orientation, the displayed view
//	manifest.go             a model's manifest: input, output format, post-processing, checks
//	preprocess.go           Photo -> the model's input tensor, letterboxed and normalised
//	model_input.go          what the runtime asks around one run: decode size, Prepare, pooled decode
//	output.go               output tensors (plain slices) -> nails: the Postprocessor interface, FinishNails
//	output_*.go             the three output formats: semantic maps, rfdetr-seg, yolo-seg
//	mask.go, polygon.go,    instance masks, contours (with holes), COCO RLE, PNG label masks
//	rle.go, labels.go
//	result.go               Result, Nail, Timings, BatchStats: what a segmentation returns
//	result_codec.go         the binary form of a Result (for caches shared by processes)
//	material.go             polish: colour, finish, opacity; presets
//	render.go               Render, RenderInto: every nail of a Result painted, transparency kept
//	shape.go                a nail's axis, extent and brightness, from its mask and the photo under it
//	look.go                 a finish as the numbers it is painted with (highlight, tint, sparkle)
//	paint.go                one nail's pixels: the polish, lit by the photo's own lighting
//	shading.go              that lighting for opaque polish: a robust fit, without what is painted on the nail
//	tip.go                  the tip: paint grown past the mask to the free edge, the French tip's line
//	render_regions.go       which pixels a render touches
//	polish_request.go       a render request's fields -> Material: the one policy of the API and the CLI
//	render_output.go        in place or whole, at which quality (Output); RenderFile for callers without admission
//	render_jpeg.go,         painting a JPEG in place: only the blocks under the nails are
//	jpeg_edit.c             decoded and re-encoded (libjpeg's coefficient API)
//	spread.go               a request's rows and nails split over the cores (spread)
//	errors.go               the error classes callers map to responses
//	pixels.go               8-bit channels and float32 numbers: clamp, to8, unit8, luma
//	scratch.go              resize: scratch slices reused from call to call
//
// JPEG decoding and in-place painting call libjpeg-turbo through cgo; the rest is Go.
// Coordinates in a Result are those of the photo as displayed (EXIF orientation applied).
package nails
