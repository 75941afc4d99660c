// Package segment is nailtrt's model runtime: it opens a model (Open, Config; a zero
// Config runs the bundled model, backend auto) on the native runner (package trt) and
// finds the nails of photos with it.
//
// It owns what is about running, not about nails: the execution-context pool, lanes
// (a wide session for a request alone, narrow ones under load) and the one inference
// path, where a lone request is a batch of one and concurrent ones may share a run
// (Config.MaxBatch). Everything about photos, tensors' meaning and nails it asks of
// package nails (decode size, Prepare, the output Postprocessor, FinishNails), which imports
// no runner. The server imports neither this package nor trt: the nailtrt command opens
// the model and hands it to the server as a server.Segmenter.
//
// It imports the layers below it (nails, trt, option, engines) and nothing above them:
// never server, web or cmd/nailtrt. Nor may nails import it back (make test-layers).
//
// One file per idea:
//
//	segmenter.go   Config, Open, Preflight, LoadModel, Segmenter and its entry points
//	options.go     Config's option table (package option): flags, variables, defaults
//	batch.go       the batcher: the one path from a decoded photo to nails
//	lanes.go       automatic threads: a wide session for a request alone
//	outputs.go     a run's output tensors as nails.Outputs (plain slices) for the postprocessors
//	runner.go      the runner's versions; its "cannot run here" errors as nails.ErrUnavailable
package segment
