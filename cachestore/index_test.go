package cachestore

import (
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testEntry returns an unlinked entry for key with hash h.
func testEntry(key string, h uint64) *entry { return &entry{hash: h, key: key} }

func TestIndex(t *testing.T) {
	seed := maphash.MakeSeed()
	tests := []struct {
		name string
		hash func(key string) uint64
	}{
		{"spread", func(key string) uint64 { return maphash.String(seed, key) }},
		// Four hashes for all keys: long chains, and keys that differ
		// under one hash.
		{"colliding", func(key string) uint64 { return maphash.String(seed, key) % 4 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x index
			x.reset()
			const n = 1000 // grows the table from minBuckets several times
			es := make([]*entry, n)
			for i := range es {
				k := fmt.Sprintf("digest-%d", i)
				es[i] = testEntry(k, tc.hash(k))
				x.add(es[i])
			}
			assert.Equal(t, n, x.n)
			assert.GreaterOrEqual(t, len(x.table.Load().buckets), n, "grown to one bucket per entry")
			for i := 0; i < n; i += 2 {
				x.remove(es[i])
			}
			assert.Equal(t, n/2, x.n)
			for i, e := range es {
				got := x.find(e.hash, []byte(e.key))
				if i%2 == 0 {
					assert.Nil(t, got, e.key)
					assert.Nil(t, x.load(e.hash, []byte(e.key)), e.key)
					continue
				}
				assert.Same(t, e, got, e.key)
				if tc.name == "spread" {
					// Chains are short: a lookup without the lock finds it.
					assert.Same(t, e, x.load(e.hash, []byte(e.key)), e.key)
				}
			}
			assert.Nil(t, x.find(es[1].hash, []byte("digest-unknown")))

			x.reset()
			assert.Zero(t, x.n)
			assert.Nil(t, x.find(es[1].hash, []byte(es[1].key)))
			x.add(es[1])
			assert.Same(t, es[1], x.load(es[1].hash, []byte(es[1].key)), "usable after reset")
		})
	}
}

// Lookups without the lock while one writer adds, removes and grows: they
// find only the key they ask for, and never an entry removed before they
// began.
func TestIndexConcurrentLookups(t *testing.T) {
	seed := maphash.MakeSeed()
	const (
		n      = 20000
		window = 300 // entries linked at once
	)
	keys := make([][]byte, n)
	es := make([]*entry, n)
	for i := range es {
		keys[i] = fmt.Appendf(nil, "digest-%d", i)
		es[i] = testEntry(string(keys[i]), maphash.Bytes(seed, keys[i]))
	}
	var x index
	x.reset()
	var added, removed atomic.Int64 // entries [removed, added) are linked
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var found atomic.Int64
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				gone, live := removed.Load(), added.Load()
				if gone > 0 {
					j := (int64(i) * 7919) % gone
					if e := x.load(es[j].hash, keys[j]); e != nil {
						t.Errorf("found %s, removed before the lookup began", e.key)
						return
					}
				}
				if live > gone {
					j := gone + int64(i)%(live-gone)
					if e := x.load(es[j].hash, keys[j]); e != nil {
						found.Add(1)
						if e != es[j] {
							t.Errorf("looked up %s, got %s", keys[j], e.key)
							return
						}
					}
				}
			}
		}(r)
	}
	for i := 0; i < n; i++ {
		if i%5000 == 0 {
			// Start over small, so that the table grows again under
			// the readers.
			x.reset()
			removed.Store(int64(i))
		}
		x.add(es[i])
		added.Store(int64(i + 1))
		if j := int64(i - window); j >= removed.Load() {
			x.remove(es[j])
			removed.Store(j + 1)
		}
	}
	close(stop)
	wg.Wait()
	assert.Positive(t, found.Load(), "lookups found live entries")
}

func TestHitCounts(t *testing.T) {
	hc := newHitCounts()
	require.NotEmpty(t, hc.stripes)
	assert.Zero(t, len(hc.stripes)&(len(hc.stripes)-1), "a power of two")
	const goroutines, each = 8, 2000
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				hc.add(hit)
				if i%4 == 0 {
					hc.add(negativeHit)
				}
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, goroutines*each, hc.sum(hit), "no hit lost")
	assert.EqualValues(t, goroutines*each/4, hc.sum(negativeHit))
}
