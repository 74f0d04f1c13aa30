package login

import (
	"math"
	"math/bits"
)

// sketchRows is how many cells hold each key. A key's reading is the
// least of its cells, so a collision raises it only when every one of its
// cells is shared with a key that holds a later time.
const sketchRows = 4

// sketchWidth is a sketch's width per entry of the table in front of it:
// 4 rows of 4 × MaxKeys (rounded up to a power of two) 4-byte cells, 4 MiB
// by default. Measured with junk usernames that fail once each: a flood of
// 10 times MaxKeys a minute costs an innocent account about 1 of its 10
// attempts, 20 times about 5, and past 30 times collisions compound and
// nearly every account is refused to untrusted clients until the flood
// ends (TestLimiterFloodFalseThrottling).
const sketchWidth = 4

// sketch remembers times by key in fixed memory, never too early: a
// count-min sketch whose cells hold times (seconds since the limiter's
// epoch, rounded up) instead of counts. Raising a key writes the larger of
// the cell and the time into each of its cells; reading it takes the least
// of them. So a reading is never earlier than any time raised for that
// key; it is later only where other keys collide in every row.
//
// A MemoryLimiter keeps exact entries while they fit in a table and folds
// what an evicted one still owes into a sketch: forgetting can then only
// make a limit stricter, never looser. An entry made again starts from
// its reading, so that a key evicted twice owes both times; that is also
// why collisions compound once a flood folds far more keys than the width.
// Keys are seeded hashes, so a client cannot aim collisions at one account.
type sketch struct {
	width uint32
	cells [sketchRows][]int32 // allocated at the first raise
}

// newSketch returns a sketch of at least minWidth cells a row (a power of
// two from 1,024 to 2^28): 16 bytes of memory per width.
func newSketch(minWidth int) *sketch {
	return &sketch{width: 1 << min(28, max(10, bits.Len(uint(max(1, minWidth)-1))))}
}

// get returns the second key was raised to, or later; zero if never
// raised.
func (s *sketch) get(key uint64) int32 {
	if s.cells[0] == nil {
		return 0
	}
	v := int32(math.MaxInt32)
	for r := range sketchRows {
		v = min(v, s.cells[r][s.index(key, r)])
	}
	return v
}

// raise makes key read t or later from now on.
func (s *sketch) raise(key uint64, t int32) {
	if s.cells[0] == nil {
		for r := range s.cells {
			s.cells[r] = make([]int32, s.width)
		}
	}
	for r := range sketchRows {
		c := &s.cells[r][s.index(key, r)]
		*c = max(*c, t)
	}
}

// index is key's cell in row r: splitmix64's finalizer over the key and
// the row, so that the rows are independent.
func (s *sketch) index(key uint64, r int) uint32 {
	z := key + uint64(r+1)*0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return uint32(z^z>>31) & (s.width - 1)
}
