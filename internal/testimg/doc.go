// Package testimg makes crafted image files for tests: inputs that attack decoders,
// built by code so no hostile blob is committed. Test code only.
package testimg
