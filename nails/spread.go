package nails

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// spread runs fn over [0,n) in pieces of grain items, on up to GOMAXPROCS goroutines
// (the caller's among them), each taking the next piece as it finishes one. Pieces are
// disjoint and cover [0,n) once, so work that writes only its own items' outputs gives
// the same result however the pieces fall.
//
// Why: a request alone in flight would otherwise run preprocess and postprocess on one
// core while the others idle; under load every core is busy anyway and the extra
// goroutines cost microseconds. With one core, or work smaller than two pieces, fn runs
// once over all of [0,n) on the caller's goroutine.
func spread(n, grain int, fn func(lo, hi int)) {
	grain = max(grain, 1)
	workers := min(runtime.GOMAXPROCS(0), (n+grain-1)/grain)
	if workers <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			hi := int(next.Add(int64(grain)))
			lo := hi - grain
			if lo >= n {
				return
			}
			fn(lo, min(hi, n))
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// spreadRows is spread for row loops: one piece per core, each at least minRows rows,
// so per-piece setup (scratch rows) is paid once per core.
func spreadRows(n, minRows int, fn func(lo, hi int)) {
	procs := runtime.GOMAXPROCS(0)
	spread(n, max(minRows, (n+procs-1)/procs), fn)
}
