package memstore

// index is an open-addressing hash table (linear probing) from a key to a
// ref. It keeps no keys: each entry holds 32 bits of the key's hash and
// the ref plus one (zero marks an empty entry), and the caller compares
// the key in the record the ref names. That costs about 8 bytes a token
// where a Go map keyed by string costs about 56.
//
// The stored 32 bits also place the entry (hash & mask, for tables of up
// to 2³² entries), so growing and deleting never rehash a key.
type index struct {
	entries []uint64
	n       int
}

func entry(h uint32, r ref) uint64 { return uint64(h)<<32 | (uint64(r) + 1) }

func entryHash(e uint64) uint32 { return uint32(e >> 32) }

func entryRef(e uint64) ref { return ref(uint32(e) - 1) }

// lookup returns the position and ref of the first entry with hash h that
// match accepts, or -1.
func (x *index) lookup(h uint32, match func(ref) bool) (int, ref) {
	if len(x.entries) == 0 {
		return -1, 0
	}
	mask := len(x.entries) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		e := x.entries[i]
		if e == 0 {
			return -1, 0
		}
		if entryHash(e) == h && match(entryRef(e)) {
			return i, entryRef(e)
		}
	}
}

// insert adds r under hash h; the caller knows its key is not there yet.
func (x *index) insert(h uint32, r ref) {
	// Grow past three quarters full: probes stay short.
	if (x.n+1)*4 > len(x.entries)*3 {
		x.grow()
	}
	x.place(entry(h, r))
	x.n++
}

func (x *index) place(e uint64) {
	mask := len(x.entries) - 1
	i := int(entryHash(e)) & mask
	for x.entries[i] != 0 {
		i = (i + 1) & mask
	}
	x.entries[i] = e
}

func (x *index) grow() {
	old := x.entries
	x.entries = make([]uint64, max(8, 2*len(old)))
	for _, e := range old {
		if e != 0 {
			x.place(e)
		}
	}
}

// set replaces the ref at position i, which keeps its hash.
func (x *index) set(i int, r ref) { x.entries[i] = entry(entryHash(x.entries[i]), r) }

// removeAt deletes the entry at position i, shifting back the entries
// after it that probed past it, so that no lookup stops short.
func (x *index) removeAt(i int) {
	mask := len(x.entries) - 1
	for j := (i + 1) & mask; x.entries[j] != 0; j = (j + 1) & mask {
		home := int(entryHash(x.entries[j])) & mask
		// The entry at j may move to i unless its home lies cyclically
		// in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.entries[i] = x.entries[j]
			i = j
		}
	}
	x.entries[i] = 0
	x.n--
}
