package cachestore

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// hitCounts counts the lookups answered from the cache. A count is spread
// over stripes, each on cache lines of its own, and each processor (P)
// keeps adding to the same stripe, so that hits on different cores write
// different lines; Stats adds the stripes up.
type hitCounts struct {
	stripes []hitStripe
	mask    uint32
}

// hitStripe is one stripe: hits then negative hits, padded so that no two
// stripes share a cache line or an adjacent pair of them, which some CPUs
// fetch together.
type hitStripe struct {
	n [2]atomic.Uint64
	_ [128 - 16]byte
}

// hitKind indexes hitStripe.n.
type hitKind int

const (
	hit hitKind = iota
	negativeHit
)

// stripeHints hold the stripe each P adds to. sync.Pool keeps one object
// per P at hand without a lock, which gives a P the same hint at each hit
// (it locks only once per P after a garbage collection); a hint the
// collector drops is drawn again. Hints are shared by every Store: a hint
// is an index, masked by each Store's stripe count.
var (
	stripeHints = sync.Pool{New: func() any { h := nextHint.Add(1); return &h }}
	nextHint    atomic.Uint32
)

func newHitCounts() hitCounts {
	// Twice as many stripes as Ps, so that Ps that draw new hints rarely
	// land on the same stripe, and at most 256 (32 kB).
	n := 1 << bits.Len(uint(min(2*runtime.GOMAXPROCS(0), 256)-1))
	return hitCounts{stripes: make([]hitStripe, n), mask: uint32(n - 1)}
}

// add counts one lookup of kind k.
func (hc *hitCounts) add(k hitKind) {
	h := stripeHints.Get().(*uint32)
	c := &hc.stripes[*h&hc.mask].n[k]
	if n := c.Load(); !c.CompareAndSwap(n, n+1) {
		// Another P adds to this stripe at the same time: move away.
		*h = nextHint.Add(1)
		hc.stripes[*h&hc.mask].n[k].Add(1)
	}
	stripeHints.Put(h)
}

// sum returns the count of kind k.
func (hc *hitCounts) sum(k hitKind) uint64 {
	var n uint64
	for i := range hc.stripes {
		n += hc.stripes[i].n[k].Load()
	}
	return n
}
