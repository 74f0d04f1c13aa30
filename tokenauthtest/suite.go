package tokenauthtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// RunStoreTests runs the behavioural suite that every tokenauth.Store must
// pass. newStore is called once per subtest and must return an empty store
// (a fresh table, key prefix or schema); register clean-up with t.Cleanup.
//
//	func TestStore(t *testing.T) {
//		tokenauthtest.RunStoreTests(t, func(t *testing.T) tokenauth.Store {
//			return mystore.New(openTestDB(t))
//		})
//	}
//
// Times are compared to the microsecond, the precision of SQL timestamps.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) tokenauth.Store) {
	t.Helper()
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

var suite = []struct {
	name string
	run  func(t *testing.T, s tokenauth.Store)
}{
	{"CreateFind", testCreateFind},
	{"FindUnknown", testFindUnknown},
	{"FindExpired", testFindExpired},
	{"CreateDuplicate", testCreateDuplicate},
	{"Delete", testDelete},
	{"DeleteUser", testDeleteUser},
	{"List", testList},
	{"Touch", testTouch},
	{"TouchNeverBackwards", testTouchNeverBackwards},
	{"TouchDeleted", testTouchDeleted},
	{"MaxExpiresAt", testMaxExpiresAt},
	{"TouchNeverPastMaxExpiresAt", testTouchNeverPastMaxExpiresAt},
	{"TouchWithoutMaxExpiresAt", testTouchWithoutMaxExpiresAt},
	{"Expire", testExpire},
	{"TouchBatch", testTouchBatch},
	{"DeleteUserKeep", testDeleteUserKeep},
	{"CutOff", testCutOff},
	{"CanceledContext", testCanceledContext},
	{"Concurrent", testConcurrent},
	{"CutOffRace", testCutOffRace},
	{"AuthenticatorRace", testAuthenticatorRace},
	{"RevokeRace", testRevokeRace},
}

// baseTime is a fixed, microsecond-precise instant for the suite.
var baseTime = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// newToken returns a token record with a random ID and digest. It is safe
// to call from any goroutine.
func newToken(_ *testing.T, userID string, created time.Time) *tokenauth.Token {
	id := make([]byte, 12)
	digest := make([]byte, 32)
	_, _ = rand.Read(id) // crypto/rand.Read never fails (Go 1.24+ panics instead)
	_, _ = rand.Read(digest)
	digest[0] = 0 // digests are binary: keep a NUL byte in every one
	return &tokenauth.Token{
		ID:        fmt.Sprintf("%x", id),
		UserID:    userID,
		Name:      "laptop",
		Scopes:    []string{"read", "write"},
		CreatedAt: created,
		Digest:    digest,
	}
}

func create(t *testing.T, s tokenauth.Store, tok *tokenauth.Token) {
	t.Helper()
	if err := s.Create(context.Background(), tok.Clone()); err != nil {
		t.Fatalf("Create: %v", err)
	}
}

func find(t *testing.T, s tokenauth.Store, digest []byte) *tokenauth.Token {
	t.Helper()
	got, err := s.Find(context.Background(), digest)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if got == nil {
		t.Fatal("Find returned a nil token and no error")
	}
	return got
}

// touch records one use through Store.Touch.
func touch(ctx context.Context, s tokenauth.Store, id string, lastUsed, expiresAt time.Time) error {
	return s.Touch(ctx, []tokenauth.TokenUse{{ID: id, LastUsed: lastUsed, ExpiresAt: expiresAt}})
}

func wantNotFound(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, tokenauth.ErrNotFound) {
		t.Fatalf("%s: got error %v, want tokenauth.ErrNotFound", op, err)
	}
}

func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func assertToken(t *testing.T, got, want *tokenauth.Token) {
	t.Helper()
	switch {
	case got.ID != want.ID:
		t.Errorf("ID = %q, want %q", got.ID, want.ID)
	case got.UserID != want.UserID:
		t.Errorf("UserID = %q, want %q", got.UserID, want.UserID)
	case got.Name != want.Name:
		t.Errorf("Name = %q, want %q", got.Name, want.Name)
	case !slices.Equal(got.Scopes, want.Scopes) && (len(got.Scopes) != 0 || len(want.Scopes) != 0):
		t.Errorf("Scopes = %q, want %q", got.Scopes, want.Scopes)
	case !sameTime(got.CreatedAt, want.CreatedAt):
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	case !sameTime(got.ExpiresAt, want.ExpiresAt):
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	case !sameTime(got.MaxExpiresAt, want.MaxExpiresAt):
		t.Errorf("MaxExpiresAt = %v, want %v", got.MaxExpiresAt, want.MaxExpiresAt)
	case !sameTime(got.LastUsedAt, want.LastUsedAt):
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, want.LastUsedAt)
	case !bytes.Equal(got.Digest, want.Digest):
		t.Errorf("Digest = %x, want %x", got.Digest, want.Digest)
	case got.Personal != want.Personal:
		t.Errorf("Personal = %v, want %v", got.Personal, want.Personal)
	case !sameTime(got.NotBefore, want.NotBefore):
		t.Errorf("NotBefore = %v, want %v", got.NotBefore, want.NotBefore)
	case !slices.Equal(got.AllowedIPs, want.AllowedIPs) && (len(got.AllowedIPs) != 0 || len(want.AllowedIPs) != 0):
		t.Errorf("AllowedIPs = %v, want %v", got.AllowedIPs, want.AllowedIPs)
	case !slices.Equal(got.DeniedIPs, want.DeniedIPs) && (len(got.DeniedIPs) != 0 || len(want.DeniedIPs) != 0):
		t.Errorf("DeniedIPs = %v, want %v", got.DeniedIPs, want.DeniedIPs)
	case got.RateLimit != want.RateLimit || got.RateWindow != want.RateWindow:
		t.Errorf("RateLimit = %d per %v, want %d per %v", got.RateLimit, got.RateWindow, want.RateLimit, want.RateWindow)
	case got.CreatedFrom != want.CreatedFrom || got.UserAgent != want.UserAgent:
		t.Errorf("CreatedFrom, UserAgent = %q, %q; want %q, %q", got.CreatedFrom, got.UserAgent, want.CreatedFrom, want.UserAgent)
	}
}

func testCreateFind(t *testing.T, s tokenauth.Store) {
	full := newToken(t, "user-1", baseTime)
	full.Name = "Zoë's laptop — \"work\""
	full.Scopes = []string{"read", "write:orders", "admin"}
	full.ExpiresAt = baseTime.Add(24 * time.Hour)
	full.MaxExpiresAt = baseTime.Add(30 * 24 * time.Hour)
	full.LastUsedAt = baseTime.Add(time.Minute)
	full.Personal = true
	full.NotBefore = baseTime.Add(time.Hour)
	full.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("192.0.2.7/32")}
	full.DeniedIPs = []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	full.RateLimit, full.RateWindow = 100, time.Minute
	full.CreatedFrom, full.UserAgent = "2001:db8::1", "curl/8.5.0 — \"quoted\""
	bare := newToken(t, "user-2", baseTime)
	bare.Name, bare.Scopes = "", nil
	for _, tok := range []*tokenauth.Token{full, bare} {
		create(t, s, tok)
		assertToken(t, find(t, s, tok.Digest), tok)
	}
	if find(t, s, full.Digest).ExpiresAt.IsZero() || !find(t, s, bare.Digest).ExpiresAt.IsZero() {
		t.Error("a zero ExpiresAt must round-trip as zero and a set one as set")
	}
	if find(t, s, full.Digest).MaxExpiresAt.IsZero() || !find(t, s, bare.Digest).MaxExpiresAt.IsZero() {
		t.Error("a zero MaxExpiresAt must round-trip as zero and a set one as set")
	}
}

func testFindUnknown(t *testing.T, s tokenauth.Store) {
	create(t, s, newToken(t, "user-1", baseTime))
	_, err := s.Find(context.Background(), bytes.Repeat([]byte{7}, 32))
	wantNotFound(t, "Find(unknown digest)", err)
	_, err = s.Find(context.Background(), nil)
	wantNotFound(t, "Find(nil digest)", err)
}

func testFindExpired(t *testing.T, s tokenauth.Store) {
	tok := newToken(t, "user-1", baseTime.Add(-48*time.Hour))
	tok.ExpiresAt = baseTime.Add(-24 * time.Hour)
	create(t, s, tok)
	assertToken(t, find(t, s, tok.Digest), tok) // expiry is the Authenticator's call
}

func testCreateDuplicate(t *testing.T, s tokenauth.Store) {
	tok := newToken(t, "user-1", baseTime)
	create(t, s, tok)
	sameID := newToken(t, "user-1", baseTime)
	sameID.ID = tok.ID
	if err := s.Create(context.Background(), sameID); !errors.Is(err, tokenauth.ErrExists) {
		t.Errorf("Create(duplicate ID) = %v, want ErrExists", err)
	}
	sameDigest := newToken(t, "user-2", baseTime)
	sameDigest.Digest = slices.Clone(tok.Digest)
	if err := s.Create(context.Background(), sameDigest); !errors.Is(err, tokenauth.ErrExists) {
		t.Errorf("Create(duplicate digest) = %v, want ErrExists", err)
	}
	assertToken(t, find(t, s, tok.Digest), tok)
}

func testDelete(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	a, b := newToken(t, "user-1", baseTime), newToken(t, "user-1", baseTime)
	create(t, s, a)
	create(t, s, b)
	if err := s.Delete(ctx, a.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Find(ctx, a.Digest)
	wantNotFound(t, "Find after Delete", err)
	wantNotFound(t, "Delete twice", s.Delete(ctx, a.ID))
	wantNotFound(t, "Delete(unknown)", s.Delete(ctx, "no-such-id"))
	assertToken(t, find(t, s, b.Digest), b)
}

func testDeleteUser(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	var mine []*tokenauth.Token
	for i := 0; i < 3; i++ {
		tok := newToken(t, "user-1", baseTime.Add(time.Duration(i)*time.Second))
		create(t, s, tok)
		mine = append(mine, tok)
	}
	other := newToken(t, "user-10", baseTime) // a prefix of nothing, shares a prefix
	create(t, s, other)
	n, err := s.DeleteUser(ctx, "user-1", baseTime)
	if err != nil || n != 3 {
		t.Fatalf("DeleteUser = %d, %v; want 3, nil", n, err)
	}
	for _, tok := range mine {
		_, err := s.Find(ctx, tok.Digest)
		wantNotFound(t, "Find after DeleteUser", err)
	}
	assertToken(t, find(t, s, other.Digest), other)
	if n, err := s.DeleteUser(ctx, "user-1", baseTime); err != nil || n != 0 {
		t.Errorf("DeleteUser again = %d, %v; want 0, nil", n, err)
	}
	if l, err := s.List(ctx, "user-1"); err != nil || len(l) != 0 {
		t.Errorf("List after DeleteUser = %d tokens, %v; want none", len(l), err)
	}
}

func testList(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	if l, err := s.List(ctx, "nobody"); err != nil || len(l) != 0 {
		t.Fatalf("List(unknown user) = %d tokens, %v; want none, nil", len(l), err)
	}
	// Created out of order; List must sort oldest first.
	var want []*tokenauth.Token
	for _, sec := range []int{3, 1, 2} {
		tok := newToken(t, "user-1", baseTime.Add(time.Duration(sec)*time.Second))
		tok.Name = fmt.Sprintf("token %d", sec)
		if sec != 2 {
			tok.ExpiresAt = tok.CreatedAt.Add(time.Hour)
			tok.MaxExpiresAt = tok.CreatedAt.Add(time.Duration(sec) * time.Hour)
		}
		create(t, s, tok)
		want = append(want, tok)
	}
	create(t, s, newToken(t, "user-2", baseTime))
	slices.SortFunc(want, func(a, b *tokenauth.Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	got, err := s.List(ctx, "user-1")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("List returned %d tokens, want %d", len(got), len(want))
	}
	for i := range want {
		assertToken(t, got[i], want[i])
	}
}

func testTouch(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	tok := newToken(t, "user-1", baseTime)
	tok.ExpiresAt = baseTime.Add(time.Hour)
	forever := newToken(t, "user-1", baseTime)
	create(t, s, tok)
	create(t, s, forever)

	used := baseTime.Add(10 * time.Minute)
	if err := touch(ctx, s, tok.ID, used, baseTime.Add(2*time.Hour)); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	want := tok.Clone()
	want.LastUsedAt, want.ExpiresAt = used, baseTime.Add(2*time.Hour)
	assertToken(t, find(t, s, tok.Digest), want)

	// A zero expiresAt records the use and leaves the expiry alone.
	used2 := used.Add(time.Minute)
	if err := touch(ctx, s, tok.ID, used2, time.Time{}); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	want.LastUsedAt = used2
	assertToken(t, find(t, s, tok.Digest), want)

	// A token that never expires keeps never expiring.
	if err := touch(ctx, s, forever.ID, used, baseTime.Add(time.Hour)); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	wantForever := forever.Clone()
	wantForever.LastUsedAt = used
	assertToken(t, find(t, s, forever.Digest), wantForever)
}

func testTouchNeverBackwards(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	tok := newToken(t, "user-1", baseTime)
	tok.ExpiresAt = baseTime.Add(time.Hour)
	create(t, s, tok)
	late, lateExp := baseTime.Add(30*time.Minute), baseTime.Add(3*time.Hour)
	if err := touch(ctx, s, tok.ID, late, lateExp); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	if err := touch(ctx, s, tok.ID, baseTime.Add(time.Minute), baseTime.Add(2*time.Hour)); err != nil {
		t.Fatalf("Touch (older values): %v", err)
	}
	got := find(t, s, tok.Digest)
	if !sameTime(got.LastUsedAt, late) || !sameTime(got.ExpiresAt, lateExp) {
		t.Errorf("after an older Touch: LastUsedAt %v, ExpiresAt %v; want %v, %v", got.LastUsedAt, got.ExpiresAt, late, lateExp)
	}
}

func testTouchDeleted(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	tok := newToken(t, "user-1", baseTime)
	tok.ExpiresAt = baseTime.Add(time.Hour)
	create(t, s, tok)
	if err := s.Delete(ctx, tok.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := touch(ctx, s, tok.ID, baseTime, baseTime.Add(2*time.Hour)); err != nil {
		t.Errorf("Touch(deleted) = %v, want nil: a token that is gone is skipped", err)
	}
	if err := touch(ctx, s, "no-such-id", baseTime, time.Time{}); err != nil {
		t.Errorf("Touch(unknown) = %v, want nil", err)
	}
	_, err := s.Find(ctx, tok.Digest)
	wantNotFound(t, "Find after Touch of a deleted token", err)
}

// testMaxExpiresAt checks that the absolute deadline round-trips through
// Create, Find and List, set or zero, and that no Touch changes it.
func testMaxExpiresAt(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	capped := newToken(t, "user-1", baseTime)
	capped.ExpiresAt = baseTime.Add(time.Hour)
	capped.MaxExpiresAt = baseTime.Add(90 * 24 * time.Hour)
	uncapped := newToken(t, "user-1", baseTime.Add(time.Second))
	uncapped.ExpiresAt = baseTime.Add(time.Hour)
	for _, tok := range []*tokenauth.Token{capped, uncapped} {
		create(t, s, tok)
		assertToken(t, find(t, s, tok.Digest), tok)
	}
	l, err := s.List(ctx, "user-1")
	if err != nil || len(l) != 2 {
		t.Fatalf("List = %d tokens, %v; want 2, nil", len(l), err)
	}
	assertToken(t, l[0], capped)
	assertToken(t, l[1], uncapped)

	used := baseTime.Add(time.Minute)
	for _, tok := range []*tokenauth.Token{capped, uncapped} {
		if err := touch(ctx, s, tok.ID, used, used.Add(time.Hour)); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		got := find(t, s, tok.Digest)
		if !sameTime(got.MaxExpiresAt, tok.MaxExpiresAt) {
			t.Errorf("after Touch: MaxExpiresAt = %v, want %v", got.MaxExpiresAt, tok.MaxExpiresAt)
		}
	}
}

// testTouchNeverPastMaxExpiresAt checks that a Touch cannot stretch a
// token's lifetime past its absolute deadline, whatever expiry the caller
// asks for: the sliding expiry stops at the cap, exactly.
func testTouchNeverPastMaxExpiresAt(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	tok := newToken(t, "user-1", baseTime)
	tok.ExpiresAt = baseTime.Add(time.Hour)
	tok.MaxExpiresAt = baseTime.Add(2 * time.Hour)
	create(t, s, tok)
	want := tok.Clone()
	steps := []struct {
		name              string
		used, expires     time.Time
		wantUsed, wantExp time.Time
	}{
		{"within the cap, it slides", baseTime.Add(time.Minute), baseTime.Add(90 * time.Minute),
			baseTime.Add(time.Minute), baseTime.Add(90 * time.Minute)},
		{"past the cap, it stops at the cap", baseTime.Add(2 * time.Minute), baseTime.Add(5 * time.Hour),
			baseTime.Add(2 * time.Minute), baseTime.Add(2 * time.Hour)},
		{"at the cap, it stays there", baseTime.Add(3 * time.Minute), baseTime.Add(3 * time.Hour),
			baseTime.Add(3 * time.Minute), baseTime.Add(2 * time.Hour)},
		{"an older touch moves nothing back", baseTime.Add(30 * time.Second), baseTime.Add(70 * time.Minute),
			baseTime.Add(3 * time.Minute), baseTime.Add(2 * time.Hour)},
	}
	// The steps run in order, each on the record the previous one left.
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := touch(ctx, s, tok.ID, st.used, st.expires); err != nil {
				t.Fatalf("Touch: %v", err)
			}
			want.LastUsedAt, want.ExpiresAt = st.wantUsed, st.wantExp
			assertToken(t, find(t, s, tok.Digest), want)
		})
	}
}

// testTouchWithoutMaxExpiresAt checks the behaviour without an absolute
// deadline: the expiry slides as far as a Touch asks, and a token that
// never expires keeps never expiring.
func testTouchWithoutMaxExpiresAt(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	sliding := newToken(t, "user-1", baseTime)
	sliding.ExpiresAt = baseTime.Add(time.Hour)
	forever := newToken(t, "user-1", baseTime)
	create(t, s, sliding)
	create(t, s, forever)
	for _, d := range []time.Duration{5 * time.Hour, 100 * 24 * time.Hour} {
		used := baseTime.Add(d - time.Hour)
		for _, tok := range []*tokenauth.Token{sliding, forever} {
			if err := touch(ctx, s, tok.ID, used, baseTime.Add(d)); err != nil {
				t.Fatalf("Touch: %v", err)
			}
		}
		want := sliding.Clone()
		want.LastUsedAt, want.ExpiresAt = used, baseTime.Add(d)
		assertToken(t, find(t, s, sliding.Digest), want)
		want = forever.Clone()
		want.LastUsedAt = used
		got := find(t, s, forever.Digest)
		assertToken(t, got, want)
		if !got.ExpiresAt.IsZero() || !got.MaxExpiresAt.IsZero() {
			t.Errorf("a token that never expires was given ExpiresAt %v, MaxExpiresAt %v", got.ExpiresAt, got.MaxExpiresAt)
		}
	}
}

func testCanceledContext(t *testing.T, s tokenauth.Store) {
	tok := newToken(t, "user-1", baseTime)
	create(t, s, tok)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, tokenauth.ErrNotFound) {
			t.Errorf("%s with a canceled context = %v; want an error that is not ErrNotFound", op, err)
		}
	}
	_, err := s.Find(ctx, tok.Digest)
	check("Find", err)
	check("Create", s.Create(ctx, newToken(t, "user-1", baseTime)))
	check("Touch", touch(ctx, s, tok.ID, baseTime, time.Time{}))
	check("Expire", s.Expire(ctx, tok.ID, baseTime))
	_, err = s.DeleteUser(ctx, tok.UserID, baseTime)
	check("DeleteUser", err)
	check("Delete", s.Delete(ctx, tok.ID))
	// The failed calls changed nothing.
	assertToken(t, find(t, s, tok.Digest), tok)
}

func testConcurrent(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	const workers, perWorker = 8, 10
	tok := newToken(t, "shared", baseTime)
	tok.ExpiresAt = baseTime.Add(time.Hour)
	create(t, s, tok)
	// capped reaches its absolute deadline halfway through the touches.
	capped := newToken(t, "shared", baseTime)
	capped.ExpiresAt = baseTime.Add(time.Hour)
	capped.MaxExpiresAt = baseTime.Add(time.Hour + workers*perWorker/2*time.Second)
	create(t, s, capped)

	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*5)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			user := fmt.Sprintf("user-%d", w)
			for i := 0; i < perWorker; i++ {
				own := newToken(t, user, baseTime.Add(time.Duration(i)*time.Millisecond))
				if err := s.Create(ctx, own); err != nil {
					errs <- fmt.Errorf("Create: %w", err)
					continue
				}
				if _, err := s.Find(ctx, own.Digest); err != nil {
					errs <- fmt.Errorf("Find: %w", err)
				}
				at := baseTime.Add(time.Duration(w*perWorker+i+1) * time.Second)
				for _, id := range []string{tok.ID, capped.ID} {
					if err := touch(ctx, s, id, at, at.Add(time.Hour)); err != nil {
						errs <- fmt.Errorf("Touch: %w", err)
					}
				}
				if i%2 == 1 {
					if err := s.Delete(ctx, own.ID); err != nil {
						errs <- fmt.Errorf("Delete: %w", err)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := 0; w < workers; w++ {
		l, err := s.List(ctx, fmt.Sprintf("user-%d", w))
		if err != nil || len(l) != perWorker/2 {
			t.Errorf("List(user-%d) = %d tokens, %v; want %d", w, len(l), err, perWorker/2)
		}
	}
	// No lost update: the latest Touch wins whatever the order.
	last := baseTime.Add(time.Duration(workers*perWorker) * time.Second)
	got := find(t, s, tok.Digest)
	if !sameTime(got.LastUsedAt, last) || !sameTime(got.ExpiresAt, last.Add(time.Hour)) {
		t.Errorf("after concurrent touches: LastUsedAt %v, ExpiresAt %v; want %v, %v", got.LastUsedAt, got.ExpiresAt, last, last.Add(time.Hour))
	}
	got = find(t, s, capped.Digest)
	if !sameTime(got.LastUsedAt, last) || !sameTime(got.ExpiresAt, capped.MaxExpiresAt) {
		t.Errorf("after concurrent touches of a capped token: LastUsedAt %v, ExpiresAt %v; want %v, %v", got.LastUsedAt, got.ExpiresAt, last, capped.MaxExpiresAt)
	}
}
