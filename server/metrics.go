package server

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/nailtrt/nailtrt/nails"
)

// metrics are registered on a registry of the server's own, so several servers (tests)
// can live in one process.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	stages   *prometheus.HistogramVec
	inflight prometheus.Gauge
}

func newMetrics(cache *resultCache, gpu GPUReader, limit *limiter, model *model) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nailtrt_http_request_duration_seconds",
		Help:    "HTTP request latency by route, method and status.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "status"})
	m.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nailtrt_stage_duration_seconds",
		Help:    "Pipeline stage latency: decode, preprocess, infer, postprocess, render, encode.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	}, []string{"stage"})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "nailtrt_http_requests_in_flight", Help: "Requests being served."})
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(m.requests, m.stages, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		counter("nailtrt_cache_hits_total", "Result cache hits.", func() float64 { return float64(cache.hits.Load()) }),
		counter("nailtrt_cache_misses_total", "Result cache misses.", func() float64 { return float64(cache.misses.Load()) }),
		counter("nailtrt_cache_evictions_total", "Result cache evictions (capacity, bytes, TTL).", func() float64 { return float64(cache.evictions.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nailtrt_cache_bytes", Help: "Bytes held by the result cache."},
			func() float64 { return float64(cache.bytes.Load()) }),
		&gpuCollector{gpu: gpu},
		// What an autoscaler should follow: photos this replica is running or queueing
		// for the model (cache hits never count). Above the contexts, requests wait.
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nailtrt_inference_pending",
			Help: "Requests running or waiting for an inference (the autoscaling signal: above NAILTRT_CONTEXTS they queue)."},
			func() float64 { return float64(limit.pending.Load()) }),
		counter("nailtrt_batch_runs_total", "Model runs of dynamically batched requests (0 with batching off).",
			func() float64 { return float64(model.batchStats().Runs) }),
		counter("nailtrt_batch_requests_total", "Requests carried by batched runs; divided by runs, the mean batch.",
			func() float64 { return float64(model.batchStats().Requests) }),
	)
	if sh := cache.shared; sh != nil {
		m.reg.MustRegister(
			counter("nailtrt_cache_shared_hits_total", "Shared (Redis) cache hits.", func() float64 { return float64(sh.hits.Load()) }),
			counter("nailtrt_cache_shared_misses_total", "Shared (Redis) cache misses (refused values included).", func() float64 { return float64(sh.misses.Load()) }),
			counter("nailtrt_cache_shared_errors_total", "Shared (Redis) cache calls that failed or timed out (the request fell back to this replica).",
				func() float64 { return float64(sh.failures.Load()) }),
			counter("nailtrt_cache_shared_writes_total", "Results written to the shared (Redis) cache.", func() float64 { return float64(sh.sets.Load()) }),
			counter("nailtrt_cache_shared_skipped_total", "Results not written to the shared cache (down, too large, or writes backed up).",
				func() float64 { return float64(sh.skipped.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nailtrt_cache_shared_up", Help: "1 while the shared (Redis) cache answers, 0 while it is skipped."},
				func() float64 {
					if sh.down.Load() {
						return 0
					}
					return 1
				}),
		)
		// Values read and not used (each is also a miss), one series per reason.
		for i, reason := range rejectReasons {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "nailtrt_cache_shared_rejected_total",
				Help: "Shared (Redis) cache values refused and treated as misses, by reason: tag (not sealed to its key: damaged, " +
					"forged, or another secret's), invalid (undecodable, beyond the codec's limits, or another photo's size), " +
					"too_large (over NAILTRT_REDIS_MAX_VALUE), panic (decoding it panicked).",
				ConstLabels: prometheus.Labels{"reason": reason}}, func() float64 { return float64(sh.rejected[i].Load()) }))
		}
	}
	return m
}

func (m *metrics) observeStages(t nails.Timings) {
	if t.Decode > 0 { // 0: the caller decoded (render) and observes it itself
		m.stages.WithLabelValues("decode").Observe(t.Decode.Seconds())
	}
	m.stages.WithLabelValues("preprocess").Observe(t.Preprocess.Seconds())
	m.stages.WithLabelValues("infer").Observe(t.Infer.Seconds())
	m.stages.WithLabelValues("postprocess").Observe(t.Postprocess.Seconds())
}

func (m *metrics) observeStage(stage string, d time.Duration) {
	m.stages.WithLabelValues(stage).Observe(d.Seconds())
}

// middleware records every request's latency under its route pattern (not the raw
// path, which would explode the label space).
func (m *metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		m.inflight.Inc()
		defer m.inflight.Dec() // also when a handler panics
		t := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Observe(time.Since(t).Seconds())
	}
}

// gpuCollector exports GPU memory gauges when the GPU reader has devices, nothing otherwise.
type gpuCollector struct{ gpu GPUReader }

var (
	gpuMemUsed  = prometheus.NewDesc("nailtrt_gpu_memory_used_bytes", "GPU memory in use.", []string{"gpu", "name"}, nil)
	gpuMemTotal = prometheus.NewDesc("nailtrt_gpu_memory_total_bytes", "GPU memory in total.", []string{"gpu", "name"}, nil)
	gpuUtil     = prometheus.NewDesc("nailtrt_gpu_utilization_ratio", "GPU utilisation, 0..1.", []string{"gpu", "name"}, nil)
)

func (g *gpuCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- gpuMemUsed
	ch <- gpuMemTotal
	ch <- gpuUtil
}

func (g *gpuCollector) Collect(ch chan<- prometheus.Metric) {
	h := g.gpu.Read()
	for _, d := range h.Devices {
		if d.Error != "" {
			continue
		}
		idx := strconv.Itoa(d.Index)
		ch <- prometheus.MustNewConstMetric(gpuMemUsed, prometheus.GaugeValue, float64(d.MemoryUsed), idx, d.Name)
		ch <- prometheus.MustNewConstMetric(gpuMemTotal, prometheus.GaugeValue, float64(d.MemoryTotal), idx, d.Name)
		if d.Utilization != nil {
			ch <- prometheus.MustNewConstMetric(gpuUtil, prometheus.GaugeValue, float64(*d.Utilization)/100, idx, d.Name)
		}
	}
}
