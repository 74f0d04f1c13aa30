package login

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSketchWidth(t *testing.T) {
	for _, c := range []struct {
		min  int
		want uint32
	}{{-1, 1024}, {0, 1024}, {1024, 1024}, {1025, 2048}, {200_000, 262_144}, {1 << 40, 1 << 28}} {
		assert.Equal(t, c.want, newSketch(c.min).width, "%d", c.min)
	}
}

// A reading is never earlier than what was raised for the key, whatever
// else was raised; keys never raised read zero until their cells are.
func TestSketchNeverEarly(t *testing.T) {
	s := newSketch(1024)
	assert.Zero(t, s.get(42))
	want := map[uint64]int32{}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		k, v := r.Uint64()%5000, int32(r.IntN(1_000_000))
		s.raise(k, v)
		want[k] = max(want[k], v)
	}
	for k, v := range want {
		assert.GreaterOrEqual(t, s.get(k), v)
	}
}
