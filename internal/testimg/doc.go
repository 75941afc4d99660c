// Package testimg holds what several packages' tests share: crafted image files (inputs
// that attack decoders, built by code so no hostile blob is committed), plain test
// photos and their encodings, and where the committed models and the dataset are.
// Test code only. It must import no other nailtrt package (no runner above all), so
// that the tests of nails and server built with -tags nonative can use it.
package testimg
