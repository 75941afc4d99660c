package server

import (
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

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

// GPUMonitor reads GPU state through NVML. NVML is initialised once; if Init fails (no
// driver, no libnvidia-ml) nothing else is ever called, not even Shutdown: on such a
// machine a later NVML call can kill the process with a symbol lookup error that
// recover cannot catch (STYLE.md). The interface is injected so tests use a mock.
type GPUMonitor struct {
	lib    nvml.Interface
	once   sync.Once
	ok     bool
	reason string
	mu     sync.Mutex // NVML calls are serialised
}

// NewGPUMonitor wraps an NVML library (nvml.New(), or a mock in tests).
func NewGPUMonitor(lib nvml.Interface) *GPUMonitor { return &GPUMonitor{lib: lib} }

func (g *GPUMonitor) init() bool {
	g.once.Do(func() {
		if g.lib == nil {
			g.reason = "NVML not configured"
			return
		}
		if ret := g.lib.Init(); ret != nvml.SUCCESS {
			g.reason = "gpu unavailable: nvml init: " + ret.Error()
			return
		}
		g.ok = true
	})
	return g.ok
}

// Read returns the current GPU health.
func (g *GPUMonitor) Read() GPUHealth {
	if !g.init() {
		return GPUHealth{Available: false, Reason: g.reason}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ret := g.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return GPUHealth{Available: false, Reason: "nvml device count: " + ret.Error()}
	}
	if n == 0 {
		return GPUHealth{Available: false, Reason: "no NVIDIA GPU found"}
	}
	out := GPUHealth{Available: true}
	for i := 0; i < n; i++ {
		info := GPUInfo{Index: i}
		dev, ret := g.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			info.Error = ret.Error()
			out.Devices = append(out.Devices, info)
			continue
		}
		if name, ret := dev.GetName(); ret == nvml.SUCCESS {
			info.Name = name
		}
		if mem, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
			info.MemoryTotal, info.MemoryUsed, info.MemoryFree = mem.Total, mem.Used, mem.Free
		} else {
			info.Error = "memory: " + ret.Error()
		}
		if u, ret := dev.GetUtilizationRates(); ret == nvml.SUCCESS {
			v := u.Gpu
			info.Utilization = &v
		}
		if t, ret := dev.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
			info.TemperatureC = &t
		}
		out.Devices = append(out.Devices, info)
	}
	return out
}

// Close shuts NVML down, only if it was initialised.
func (g *GPUMonitor) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ok {
		g.lib.Shutdown()
		g.ok = false
	}
}
