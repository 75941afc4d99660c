// Package mallocarena bounds the memory glibc's malloc keeps for a long-running server:
// how many arenas it keeps (Limit) and which blocks it gives back when freed
// (ReturnLarge). Server applies both as nailtrt serve (and the benchmarks that stand in
// for it) use them.
//
// glibc gives each OS thread that allocates concurrently its own arena (up to 8 per
// core), and freed memory stays in the arena it came from. cgo calls (libjpeg-turbo
// decoding and painting, ONNX Runtime) run on whichever OS thread the goroutine is on,
// so a server touches many threads, and each arena kept its peak: resident memory
// after 100 mixed 12 MP requests was 884 MiB with glibc's default, 670 MiB with two
// arenas, at the same speed (tools/benchstages).
//
// glibc also raises its mmap threshold to the size of each large block freed, so the
// decoder's next buffers of that size come from an arena and stay resident. With the
// threshold fixed at 1 MiB, the same run (after masks were kept at the model's
// resolution) ended at 325 MiB instead of 484 MiB.
package mallocarena
