// Package memstore is an in-memory tokenauth.Store for tests, examples and
// single-process services. Tokens are lost when the process exits.
//
// A token issued by an Authenticator takes about 230 bytes of heap (10⁶
// in about 230 MB; see TestHeapPerToken), and a lookup of a token in use
// takes no lock: requests on every core run in parallel.
package memstore

import (
	"context"
	"errors"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

const (
	// shardBits splits the records into 64 shards by digest, each with its
	// own lock, so that lookups that miss the cache rarely meet.
	shardBits  = 6
	shardCount = 1 << shardBits
	slotBits   = 32 - shardBits
	// maxSlots bounds a shard so that a ref plus one fits 32 bits.
	maxSlots = 1<<slotBits - 1
)

// ref names a record: its shard in the top bits, its slot below.
type ref uint32

func (r ref) shard() int { return int(r >> slotBits) }
func (r ref) slot() int  { return int(r & (1<<slotBits - 1)) }

// Store is a concurrency-safe in-memory tokenauth.Store. The zero value is
// not usable; call New.
//
// Records live in compact form in 64 shards by digest. Find hands out
// *tokenauth.Token values materialised from them, which never change: a
// write replaces the shard's cached token instead.
type Store struct {
	seed maphash.Seed

	// mu is held by every write, with the lock of the shard it changes,
	// and by List and Len; it guards byID, byUser, metas and links.
	// Records may be read under mu or under their shard's lock.
	mu     sync.RWMutex
	byID   index // ID -> ref
	byUser index // user ID -> the ref of the user's newest token
	metas  metas

	shards [shardCount]shard
}

type shard struct {
	// cache holds the tokens Find materialised; allocated by the first
	// Find in the shard.
	cache atomic.Pointer[tokenCache]
	// The padding keeps what every Find reads (cache) off the cache lines
	// that lookups and writes change (mu), in this shard and the next.
	_        [56]byte
	mu       sync.RWMutex
	recs     []record
	free     []int32
	byDigest index
	// links chains the tokens of a user; guarded by Store.mu, as Find
	// never reads it.
	links []link
	_     [64]byte
}

// link chains a record to the user's other records, as refs plus one (0:
// none).
type link struct{ prev, next uint32 }

var (
	_ tokenauth.Store          = (*Store)(nil)
	_ tokenauth.ExpiredDeleter = (*Store)(nil)
	_ tokenauth.Expirer        = (*Store)(nil)
	_ tokenauth.BatchToucher   = (*Store)(nil)
)

var (
	errNilToken = errors.New("memstore: nil token")
	errFull     = errors.New("memstore: too many tokens")
	errZeroTime = errors.New("memstore: Expire needs a non-zero time")
)

// New returns an empty Store.
func New() *Store {
	return &Store{seed: maphash.MakeSeed(), metas: make(metas)}
}

func (s *Store) hash(key string) uint64 { return maphash.String(s.seed, key) }

// shardOf returns the shard of digest hash h: its top bits, where the
// shard's table uses the low 32 and its cache some above them.
func (s *Store) shardOf(h uint64) (int, *shard) {
	i := int(h >> (64 - shardBits))
	return i, &s.shards[i]
}

func (s *Store) rec(r ref) *record { return &s.shards[r.shard()].recs[r.slot()] }

// Create stores a copy of t; it returns tokenauth.ErrExists for a
// duplicate ID or digest.
func (s *Store) Create(ctx context.Context, t *tokenauth.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t == nil {
		return errNilToken
	}
	h := s.hash(string(t.Digest))
	si, sh := s.shardOf(h)
	hid := uint32(s.hash(t.ID))
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, _ := s.findID(hid, t.ID); i >= 0 {
		return tokenauth.ErrExists
	}
	if _, ok := sh.find(uint32(h), t.Digest); ok {
		return tokenauth.ErrExists
	}
	slot := len(sh.recs)
	if n := len(sh.free); n > 0 {
		slot = int(sh.free[n-1])
	} else if slot >= maxSlots {
		return errFull
	}
	r := ref(si<<slotBits | slot)
	rec := record{
		id:         t.ID,
		userID:     t.UserID,
		digest:     string(t.Digest),
		meta:       s.metas.acquire(t.Name, t.Scopes),
		created:    micros(t.CreatedAt),
		expires:    micros(t.ExpiresAt),
		maxExpires: micros(t.MaxExpiresAt),
		lastUsed:   micros(t.LastUsedAt),
	}

	sh.mu.Lock()
	if slot == len(sh.recs) {
		sh.recs = append(sh.recs, rec)
		sh.links = append(sh.links, link{})
	} else {
		sh.free = sh.free[:len(sh.free)-1]
		sh.recs[slot] = rec
	}
	sh.byDigest.insert(uint32(h), r)
	sh.mu.Unlock()

	s.byID.insert(hid, r)
	// The new token heads its user's list.
	hu := uint32(s.hash(t.UserID))
	if i, head := s.findUser(hu, t.UserID); i >= 0 {
		sh.links[slot] = link{next: uint32(head) + 1}
		s.shards[head.shard()].links[head.slot()].prev = uint32(r) + 1
		s.byUser.set(i, r)
	} else {
		sh.links[slot] = link{}
		s.byUser.insert(hu, r)
	}
	return nil
}

// find returns the slot of digest in sh, under sh.mu or Store.mu.
func (sh *shard) find(h uint32, digest []byte) (int, bool) {
	i, r := sh.byDigest.lookup(h, func(r ref) bool { return sh.recs[r.slot()].digest == string(digest) })
	return r.slot(), i >= 0
}

func (s *Store) findID(h uint32, id string) (int, ref) {
	return s.byID.lookup(h, func(r ref) bool { return s.rec(r).id == id })
}

func (s *Store) findUser(h uint32, userID string) (int, ref) {
	return s.byUser.lookup(h, func(r ref) bool { return s.rec(r).userID == userID })
}

// Find returns the token with the given digest. A token found before and
// not written since comes from the shard's cache, without a lock.
func (s *Store) Find(ctx context.Context, digest []byte) (*tokenauth.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := maphash.Bytes(s.seed, digest)
	_, sh := s.shardOf(h)
	cache := sh.cache.Load()
	if cache != nil {
		if t := cache.get(h, digest); t != nil {
			return t, nil
		}
	}
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	slot, ok := sh.find(uint32(h), digest)
	if !ok {
		return nil, tokenauth.ErrNotFound
	}
	t := sh.recs[slot].token()
	if cache == nil {
		sh.cache.CompareAndSwap(nil, new(tokenCache))
		cache = sh.cache.Load()
	}
	// Stored under the read lock: no write to this shard runs until it is
	// released, and each write drops the token of the record it changes.
	cache.put(h, t)
	return t, nil
}

// forget drops the cached token of r's digest, under sh.mu.
func (s *Store) forget(sh *shard, rec *record) {
	if cache := sh.cache.Load(); cache != nil {
		cache.drop(s.hash(rec.digest), rec.digest)
	}
}

// Delete removes the token with the given ID.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, r := s.findID(uint32(s.hash(id)), id)
	if i < 0 {
		return tokenauth.ErrNotFound
	}
	s.remove(r, i)
	return nil
}

// remove deletes record r, whose position in byID is idPos, under mu.
func (s *Store) remove(r ref, idPos int) {
	sh := &s.shards[r.shard()]
	slot := r.slot()
	rec := sh.recs[slot]

	// Unlink it from its user's tokens.
	l := sh.links[slot]
	if l.prev != 0 {
		p := ref(l.prev - 1)
		s.shards[p.shard()].links[p.slot()].next = l.next
	} else {
		i, _ := s.findUser(uint32(s.hash(rec.userID)), rec.userID)
		if l.next != 0 {
			s.byUser.set(i, ref(l.next-1))
		} else {
			s.byUser.removeAt(i)
		}
	}
	if l.next != 0 {
		n := ref(l.next - 1)
		s.shards[n.shard()].links[n.slot()].prev = l.prev
	}
	sh.links[slot] = link{}
	s.byID.removeAt(idPos)
	s.metas.release(rec.meta)

	h := s.hash(rec.digest)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	di, _ := sh.byDigest.lookup(uint32(h), func(x ref) bool { return x == r })
	sh.byDigest.removeAt(di)
	s.forget(sh, &rec)
	sh.recs[slot] = record{}
	sh.free = append(sh.free, int32(slot))
}

// DeleteUser removes every token of userID.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	hu := uint32(s.hash(userID))
	for {
		i, r := s.findUser(hu, userID)
		if i < 0 {
			return n, nil
		}
		s.removeByRef(r)
		n++
	}
}

// removeByRef deletes record r, under mu.
func (s *Store) removeByRef(r ref) {
	id := s.rec(r).id
	i, _ := s.byID.lookup(uint32(s.hash(id)), func(x ref) bool { return x == r })
	s.remove(r, i)
}

// List returns userID's tokens, oldest first.
func (s *Store) List(ctx context.Context, userID string) ([]*tokenauth.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	var out []*tokenauth.Token
	i, r := s.findUser(uint32(s.hash(userID)), userID)
	for i >= 0 {
		sh := &s.shards[r.shard()]
		out = append(out, sh.recs[r.slot()].token())
		next := sh.links[r.slot()].next
		if next == 0 {
			break
		}
		r = ref(next - 1)
	}
	s.mu.RUnlock()
	if out == nil {
		out = []*tokenauth.Token{}
	}
	slices.SortFunc(out, func(a, b *tokenauth.Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out, nil
}

// update runs f on the record with the given ID, under both locks, and
// drops its cached token; it reports whether the token exists.
func (s *Store) update(id string, f func(*record)) bool {
	i, r := s.findID(uint32(s.hash(id)), id)
	if i < 0 {
		return false
	}
	sh := &s.shards[r.shard()]
	sh.mu.Lock()
	rec := &sh.recs[r.slot()]
	f(rec)
	s.forget(sh, rec)
	sh.mu.Unlock()
	return true
}

// Touch records a use. ExpiresAt never moves past MaxExpiresAt, even if
// the caller asks for it.
func (s *Store) Touch(ctx context.Context, id string, lastUsed, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.update(id, func(rec *record) { rec.touch(lastUsed, expiresAt) }) {
		return tokenauth.ErrNotFound
	}
	return nil
}

// TouchBatch records many uses at once, skipping tokens that are gone.
func (s *Store) TouchBatch(ctx context.Context, uses []tokenauth.TokenUse) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range uses {
		s.update(u.ID, func(rec *record) { rec.touch(u.LastUsed, u.ExpiresAt) })
	}
	return nil
}

// Expire brings the token's ExpiresAt and MaxExpiresAt forward to at where
// they are later or unset.
func (s *Store) Expire(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if at.IsZero() {
		return errZeroTime
	}
	us := micros(at)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.update(id, func(rec *record) { rec.expire(us) }) {
		return tokenauth.ErrNotFound
	}
	return nil
}

// DeleteExpired removes every token that expired at or before before.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	limit := micros(before)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for si := range s.shards {
		sh := &s.shards[si]
		for slot := range sh.recs {
			rec := &sh.recs[slot]
			if rec.meta != nil && rec.expires != noTime && rec.expires <= limit {
				s.removeByRef(ref(si<<slotBits | slot))
				n++
			}
		}
	}
	return n, nil
}

// Len returns the number of stored tokens.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byID.n
}
