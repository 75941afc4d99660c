// Package mallocarena bounds glibc's malloc arenas for a long-running server.
//
// glibc gives each OS thread that allocates concurrently its own arena (up to 8 per
// core), and freed memory stays in the arena it came from. cgo calls (libjpeg-turbo
// decoding and painting, ONNX Runtime) run on whichever OS thread the goroutine is on,
// so a server touches many threads, and each arena kept its peak: resident memory
// after 100 mixed 12 MP requests was 884 MiB with glibc's default, 670 MiB with two
// arenas, at the same speed (tools/benchstages).
package mallocarena
