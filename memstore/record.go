package memstore

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// record is the compact form of a stored token: 88 bytes plus its
// strings, where a *tokenauth.Token costs 192 plus its slices. Find
// materialises a *tokenauth.Token from it.
type record struct {
	id, userID string
	digest     string
	meta       *meta // nil marks a free slot
	// Times in microseconds since the Unix epoch, noTime for the zero
	// time: microseconds are what SQL stores keep and what the
	// Authenticator writes, and an int64 of them spans every year.
	created, expires, maxExpires, lastUsed int64
}

// noTime stands for the zero time.Time.
const noTime = math.MinInt64

func micros(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == noTime {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// tokenBox holds a materialised token and its digest in one allocation.
type tokenBox struct {
	t tokenauth.Token
	d [32]byte
}

// token returns a new *tokenauth.Token with r's fields. Its Scopes are
// shared with every token of the same name and scopes: returned tokens are
// read-only (tokenauth.Store's contract).
func (r *record) token() *tokenauth.Token {
	b := new(tokenBox)
	b.t = tokenauth.Token{
		ID:           r.id,
		UserID:       r.userID,
		Name:         r.meta.name,
		Scopes:       r.meta.scopes,
		CreatedAt:    fromMicros(r.created),
		ExpiresAt:    fromMicros(r.expires),
		MaxExpiresAt: fromMicros(r.maxExpires),
		LastUsedAt:   fromMicros(r.lastUsed),
	}
	if len(r.digest) <= len(b.d) {
		b.t.Digest = b.d[:copy(b.d[:], r.digest):len(r.digest)]
	} else {
		b.t.Digest = []byte(r.digest)
	}
	return &b.t
}

// touch applies a use (tokenauth.Store.Touch's contract): neither time
// moves backwards, and expires never passes maxExpires.
func (r *record) touch(lastUsed, expiresAt time.Time) {
	if us := micros(lastUsed); us > r.lastUsed {
		r.lastUsed = us
	}
	us := micros(expiresAt)
	if r.maxExpires != noTime && us > r.maxExpires {
		us = r.maxExpires
	}
	if r.expires != noTime && us > r.expires {
		r.expires = us
	}
}

// expire brings the expiry and the deadline forward to at where they are
// later or unset (tokenauth.Expirer's contract).
func (r *record) expire(at int64) {
	if r.expires == noTime || r.expires > at {
		r.expires = at
	}
	if r.maxExpires == noTime || r.maxExpires > at {
		r.maxExpires = at
	}
}

// meta is a token's name and scopes, shared by every token that has the
// same: most tokens of a service are named alike ("login") and carry the
// same few scope sets.
type meta struct {
	name   string
	scopes []string
	key    string // metaKey(name, scopes)
	refs   int    // records that use it; guarded by Store.mu
}

// metaKey encodes name and scopes without ambiguity: each string is
// preceded by its length.
func metaKey(name string, scopes []string) string {
	n := binary.MaxVarintLen64 + len(name)
	for _, s := range scopes {
		n += binary.MaxVarintLen64 + len(s)
	}
	var b strings.Builder
	b.Grow(n)
	var buf [binary.MaxVarintLen64]byte
	for _, s := range append([]string{name}, scopes...) {
		b.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
		b.WriteString(s)
	}
	return b.String()
}

// metas interns meta values, counting their users so that names that no
// token uses any more are dropped.
type metas map[string]*meta

func (ms metas) acquire(name string, scopes []string) *meta {
	key := metaKey(name, scopes)
	m := ms[key]
	if m == nil {
		m = &meta{name: name, scopes: slices.Clip(slices.Clone(scopes)), key: key}
		ms[key] = m
	}
	m.refs++
	return m
}

func (ms metas) release(m *meta) {
	if m.refs--; m.refs == 0 {
		delete(ms, m.key)
	}
}
