// Package nails is nailtrt's domain: photos in, fingernails out, polish painted on.
//
// The pipeline, one file per stage:
//
//	header.go, exif.go      the image header, checked before anything is decoded; EXIF orientation
//	decode.go, jpeg_*.go    bytes -> Photo (libjpeg-turbo for JPEG, at the scale the model needs)
//	preprocess.go           Photo -> the model's input tensor, letterboxed, in pinned memory
//	decode_*.go             output tensors -> nail instances (semantic, rfdetr-seg, yolo-seg)
//	mask.go, polygon.go,    instance masks, contours (with holes), COCO RLE, PNG label masks
//	rle.go, labels.go
//	render.go, material.go  polish: colour, finish, lighting kept from the photo
//	shading.go              that lighting for opaque polish: a robust fit, without what is painted on the nail
//	polish_request.go       a render request's fields -> Material: the one policy of the API and the CLI
//	render_output.go        in place or whole, at which quality (Output); RenderFile for callers without admission
//	render_jpeg.go,         painting a JPEG in place: only the blocks under the nails are
//	jpeg_edit.c             decoded and re-encoded (libjpeg's coefficient API)
//	segmenter.go            Segmenter ties it together over a trt.Pool
//	options.go              Config's option table (package option): flags, variables, defaults
//	runner.go               what callers need of the runner (Backend, ErrUnavailable, Versions) without importing trt
//	lanes.go                automatic threads: a wide session for a request alone
//	batch.go                dynamic batching of concurrent requests into one run
//	spread.go               a request's rows and nails split over the cores (spread)
//	result_codec.go         the binary form of a Result (for caches shared by processes)
//
// Inference goes through package trt; JPEG decoding and in-place painting call
// libjpeg-turbo through cgo; the rest is Go. Coordinates in a Result are those of the
// photo as displayed (EXIF orientation applied).
package nails
