// Package nails is nailtrt's domain: photos in, fingernails out, polish painted on.
//
// The pipeline, one file per stage:
//
//	decode.go, exif.go      bytes -> Photo (header checked before decoding, EXIF orientation)
//	preprocess.go           Photo -> the model's input tensor, letterboxed, in pinned memory
//	decode_*.go             output tensors -> nail instances (semantic, rfdetr-seg, yolo-seg)
//	mask.go, polygon.go,    instance masks, contours (with holes), COCO RLE, PNG label masks
//	rle.go, labels.go
//	render.go, material.go  polish: colour, finish, lighting kept from the photo
//	segmenter.go            Segmenter ties it together over a trt.Pool
//
// Everything is pure Go except inference, which goes through package trt. Coordinates in
// a Result are those of the photo as displayed (EXIF orientation applied).
package nails
