package memstore

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIndex runs random inserts and removals against a map, with few
// distinct hashes so that probes collide and wrap, and removals shift
// entries back.
func TestIndex(t *testing.T) {
	for _, c := range []struct {
		name   string
		hashes uint32
		ops    int
	}{
		{"all in one cluster", 1, 2000},
		{"few hashes", 7, 5000},
		{"spread", 1 << 20, 20000},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var x index
			want := map[ref]uint32{} // ref -> hash
			lookup := func(r ref) int {
				i, got := x.lookup(want[r], func(y ref) bool { return y == r })
				if i >= 0 {
					require.Equal(t, r, got)
				}
				return i
			}
			for op := range c.ops {
				r := ref(rng.IntN(300))
				if _, ok := want[r]; ok {
					i := lookup(r)
					require.GreaterOrEqual(t, i, 0, "op %d: ref %d is stored", op, r)
					x.removeAt(i)
					delete(want, r)
				} else {
					h := uint32(rng.IntN(int(c.hashes))) * 0x9E3779B1
					want[r] = h
					x.insert(h, r)
				}
				require.Equal(t, len(want), x.n)
				if op%97 == 0 {
					for r := range want {
						require.GreaterOrEqual(t, lookup(r), 0, "op %d: ref %d is found", op, r)
					}
					for r := ref(300); r < 310; r++ {
						i, _ := x.lookup(uint32(r), func(y ref) bool { return y == r })
						require.Equal(t, -1, i, "op %d: ref %d was never stored", op, r)
					}
				}
			}
		})
	}
}

func TestIndexSet(t *testing.T) {
	var x index
	x.insert(5, 1)
	i, r := x.lookup(5, func(ref) bool { return true })
	require.Equal(t, ref(1), r)
	x.set(i, 9)
	_, r = x.lookup(5, func(ref) bool { return true })
	require.Equal(t, ref(9), r)
	require.Equal(t, 1, x.n)
}
