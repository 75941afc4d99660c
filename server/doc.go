// Package server is nailtrt's HTTP API (gin): the routes of the Python app it replaces
// (segment, render, materials, cache) plus health, readiness and Prometheus metrics.
//
// New builds an http.Handler around a model that is loaded in the background (or on the
// first request with Config.Lazy); Serve runs it with timeouts and graceful shutdown.
// One file per concern:
//
//	server.go      New, NewWithSegmenter, Options, Serve, Close: the Server and its lifetime
//	config.go      every knob and its option table: flags, NAILTRT_* variables, defaults
//	segmenter.go   the Segmenter interface the server needs of a model (segment.Segmenter; a fake in tests)
//	model.go       model lifecycle: background/lazy load, warm-up, readiness
//	cache.go       result cache: expirable LRU bounded by entries and bytes, singleflight
//	shared_cache.go  its shared second level in Redis (NAILTRT_REDIS_URL): timeouts, down/probe, async writes
//	shared_value.go  a shared value sealed to its key (HMAC-SHA256) and checked before use
//	redis_conn.go    Redis replies bounded in bytes before go-redis allocates them
//	limiter.go     back-pressure: bounded inferences and queue, 503 + Retry-After
//	admission.go   byte budgets: memory (decode -> encode, priced from the header) and uploads
//	upload.go      request bodies: multipart read in memory, budget held as bytes arrive, stalls cut
//	conns.go       the connection cap: idle connections reclaimed, spare ones for the probes
//	routes.go      the gin engine, middleware order, route table (the page from package web)
//	openapi.json   the OpenAPI 3 document of every route, served at /openapi.json
//	segment.go     POST /api/nails/segment
//	render.go      POST /api/nails/render
//	admin.go       materials, cache stats/clear, health, readiness
//	gpu.go         GPU health as /api/health shows it (GPUReader; NVML reads it in server/nvmlgpu)
//	metrics.go     Prometheus collectors
//	errors.go      the JSON error envelope and status mapping
//	middleware.go  request id, access log, recovery, CORS
//
// The server imports the domain (package nails) and never the runtime or the runner
// (nails/segment, trt): it sees the model through the Segmenter interface, and the
// nailtrt command opens the model (cmd/nailtrt/serve.go). Its tests that run the
// fixture model do so through runtime_test.go (batch_test.go and example_test.go too),
// all left out with -tags nonative (make test-layers).
package server
