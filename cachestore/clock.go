package cachestore

import "time"

// clock is the CLOCK replacement policy over a fixed number of slots: an
// approximation of LRU that needs no list update on a hit, only a bit set.
type clock struct {
	slots []*entry
	hand  int
	size  int
}

// add puts e in a free slot, or in place of the first entry the hand
// finds unused since its last pass (or past its TTL), which it returns.
func (k *clock) add(e *entry, now time.Time) (victim *entry) {
	if len(k.slots) < k.size {
		e.slot = len(k.slots)
		k.slots = append(k.slots, e)
		return nil
	}
	for {
		if k.hand >= len(k.slots) {
			k.hand = 0
		}
		v := k.slots[k.hand]
		if v.ref.Load() && now.Before(v.expires) {
			v.ref.Store(false)
			k.hand++
			continue
		}
		e.slot = k.hand
		k.slots[k.hand] = e
		k.hand++
		return v
	}
}

// remove frees e's slot, moving the last entry into it.
func (k *clock) remove(e *entry) {
	last := len(k.slots) - 1
	moved := k.slots[last]
	k.slots[e.slot] = moved
	moved.slot = e.slot
	k.slots[last] = nil
	k.slots = k.slots[:last]
}

// reset frees every slot.
func (k *clock) reset() {
	clear(k.slots)
	k.slots = k.slots[:0]
	k.hand = 0
}
