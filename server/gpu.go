package server

// GPUInfo is one device in /api/health and `nailtrt info`.
type GPUInfo struct {
	Index        int     `json:"index"`
	Name         string  `json:"name"`
	MemoryTotal  uint64  `json:"memory_total_bytes"`
	MemoryUsed   uint64  `json:"memory_used_bytes"`
	MemoryFree   uint64  `json:"memory_free_bytes"`
	Utilization  *uint32 `json:"utilization_percent,omitempty"`
	TemperatureC *uint32 `json:"temperature_c,omitempty"`
	Error        string  `json:"error,omitempty"`
}

// GPUHealth is the "gpu" block of /api/health.
type GPUHealth struct {
	Available bool      `json:"available"`
	Reason    string    `json:"reason,omitempty"`
	Devices   []GPUInfo `json:"devices,omitempty"`
}

// GPUReader reports the GPUs for /api/health and /metrics. Package server/nvmlgpu reads
// them through NVML; it lives apart so that programs built on this package (tools,
// tests, library users who want no GPU probe) do not link NVML, whose generated cgo
// code prints ~150 deprecation warnings whenever it is compiled without the Makefile's
// CGO_CFLAGS.
type GPUReader interface {
	Read() GPUHealth
	Close() // after the last Read
}

// noGPUReader is Options.GPU's default: nothing is asked of any driver.
type noGPUReader struct{}

func (noGPUReader) Read() GPUHealth {
	return GPUHealth{Reason: "GPU health is not read: nailtrt serve reads it through NVML (server.Options.GPU, package server/nvmlgpu)"}
}
func (noGPUReader) Close() {}
