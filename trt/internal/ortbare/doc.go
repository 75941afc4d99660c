// Package ortbare runs an ONNX model through the ONNX Runtime C API directly, with no
// nailtrt layer in between. It exists only as the baseline for trt's overhead benchmark
// (BenchmarkRunOverhead): the difference between the two is what nailtrt costs per call.
package ortbare
