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
//
// That memory is faulted in afresh by the next request, and on the development VM a
// page fault costs ~13 µs (15 renders of a 12 MP photo: 139,000 more minor faults with
// the fixed threshold than without, 122 ms more per render). A 12 MP render in place
// allocates ~37 MiB of DCT coefficients, so it costs 186-194 ms through the handler with
// these settings and 59-61 ms with the memory kept instead (one arena, heap blocks up to
// 64 MiB, 40 MiB of free heap kept resident: MALLOC_ARENA_MAX=1
// MALLOC_MMAP_THRESHOLD_=67108864 MALLOC_TOP_PAD_=41943040); a 1280x960 render 20.5 ->
// 7-8.5 ms. The price is resident memory: 628-640 MiB after the mixed run instead of
// 353-359 (peak 640-649 instead of 455-463), from the heap's fragments between
// concurrent renders (tools/benchstages, two alternating runs of each, 2026-12-06).
// Server keeps the bounded setting; glibc's own variables, which every setting here
// defers to, choose speed instead where memory is plentiful. Transparent huge pages for
// malloc's mmaps (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, read only at process start)
// kept the bounded resident memory but brought the render only to 90-135 ms.
package mallocarena
