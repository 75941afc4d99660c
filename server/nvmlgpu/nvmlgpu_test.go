package nvmlgpu

import (
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A machine without the driver: Init fails, and any other call panics (the mock's nil
// funcs do), proving nothing else is ever called, not even Shutdown.
func TestNoDriverCallsNothingElse(t *testing.T) {
	none := NewWithLibrary(&mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }})
	h := none.Read()
	assert.False(t, h.Available)
	assert.Contains(t, h.Reason, "ERROR_LIBRARY_NOT_FOUND")
	none.Close()
}

func TestReadsEveryDevice(t *testing.T) {
	shutdowns := 0
	dev := &mock.Device{
		GetNameFunc: func() (string, nvml.Return) { return "NVIDIA H100 80GB HBM3", nvml.SUCCESS },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: 80 << 30, Used: 2 << 30, Free: 78 << 30}, nvml.SUCCESS
		},
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: 37}, nvml.SUCCESS },
		GetTemperatureFunc:      func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 51, nvml.SUCCESS },
	}
	lib := &mock.Interface{
		InitFunc:                   func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:               func() nvml.Return { shutdowns++; return nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return 1, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(int) (nvml.Device, nvml.Return) { return dev, nvml.SUCCESS },
	}
	m := NewWithLibrary(lib)
	h := m.Read()
	require.True(t, h.Available)
	require.Len(t, h.Devices, 1)
	d := h.Devices[0]
	assert.Equal(t, "NVIDIA H100 80GB HBM3", d.Name)
	assert.EqualValues(t, 2<<30, d.MemoryUsed)
	assert.EqualValues(t, 37, *d.Utilization)
	assert.EqualValues(t, 51, *d.TemperatureC)
	m.Close()
	m.Close()
	assert.Equal(t, 1, shutdowns, "Shutdown once, after a successful Init")
}
