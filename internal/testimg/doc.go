// Package testimg holds what several packages' tests share: crafted image files (inputs
// that attack decoders, built by code so no hostile blob is committed), plain test
// photos and their encodings, and where the committed models and the dataset are.
// Test code only; it imports no runner.
package testimg
