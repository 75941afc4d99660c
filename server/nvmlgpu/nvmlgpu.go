// Package nvmlgpu reads GPU health through NVML (go-nvml) for nailtrt serve's
// /api/health and /metrics: a server.GPUReader, kept out of package server so that only
// the programs that ask for GPU health link NVML.
package nvmlgpu

import (
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/nailtrt/nailtrt/server"
)

var _ server.GPUReader = (*Monitor)(nil)

// Monitor reads GPU state through NVML. NVML is initialised once; if Init fails (no
// driver, no libnvidia-ml) nothing else is ever called, not even Shutdown: on such a
// machine a later NVML call can kill the process with a symbol lookup error that
// recover cannot catch (STYLE.md). The interface is injected so tests use a mock.
type Monitor struct {
	lib    nvml.Interface
	once   sync.Once
	ok     bool
	reason string
	mu     sync.Mutex // NVML calls are serialised
}

// New reads the GPUs through the NVML library of this machine, if it has one.
func New() *Monitor { return NewWithLibrary(nvml.New()) }

// NewWithLibrary wraps an NVML library (nvml.New(), or a mock in tests).
func NewWithLibrary(lib nvml.Interface) *Monitor { return &Monitor{lib: lib} }

func (g *Monitor) init() bool {
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
func (g *Monitor) Read() server.GPUHealth {
	if !g.init() {
		return server.GPUHealth{Available: false, Reason: g.reason}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ret := g.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return server.GPUHealth{Available: false, Reason: "nvml device count: " + ret.Error()}
	}
	if n == 0 {
		return server.GPUHealth{Available: false, Reason: "no NVIDIA GPU found"}
	}
	out := server.GPUHealth{Available: true}
	for i := 0; i < n; i++ {
		info := server.GPUInfo{Index: i}
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
func (g *Monitor) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ok {
		g.lib.Shutdown()
		g.ok = false
	}
}
