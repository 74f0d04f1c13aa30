package tokenauthtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/cachestore"
)

// testDeleteUserKeep checks that DeleteUser spares the tokens in keep, and
// only those of the user.
func testDeleteUserKeep(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	var mine []*tokenauth.Token
	for i := range 4 {
		tok := newToken(t, "user-1", baseTime.Add(time.Duration(i)*time.Second))
		create(t, s, tok)
		mine = append(mine, tok)
	}
	other := newToken(t, "user-2", baseTime)
	create(t, s, other)
	n, err := s.DeleteUser(ctx, "user-1", baseTime.Add(time.Hour), mine[1].ID, mine[3].ID, other.ID)
	if err != nil || n != 2 {
		t.Fatalf("DeleteUser keeping two = %d, %v; want 2, nil", n, err)
	}
	for i, tok := range mine {
		_, err := s.Find(ctx, tok.Digest)
		if i%2 == 1 {
			if err != nil {
				t.Errorf("a kept token is gone: %v", err)
			}
		} else {
			wantNotFound(t, "Find of a token not kept", err)
		}
	}
	assertToken(t, find(t, s, other.Digest), other)
	if l, err := s.List(ctx, "user-1"); err != nil || len(l) != 2 {
		t.Errorf("List after DeleteUser keeping two = %d tokens, %v; want 2", len(l), err)
	}
}

// testCutOff checks the cut-off DeleteUser leaves: Create refuses the
// user's tokens created before it, storing nothing, and accepts later ones
// and other users'; a cut-off never moves back.
func testCutOff(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	cut := baseTime.Add(time.Hour)
	if _, err := s.DeleteUser(ctx, "user-1", cut); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for _, tc := range []struct {
		name    string
		user    string
		created time.Time
		refused bool
	}{
		{"a microsecond before", "user-1", cut.Add(-time.Microsecond), true},
		{"a day before", "user-1", cut.Add(-24 * time.Hour), true},
		{"at the cut-off", "user-1", cut, false},
		{"after", "user-1", cut.Add(time.Second), false},
		{"another user, before", "user-10", cut.Add(-time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := newToken(t, tc.user, tc.created)
			err := s.Create(ctx, tok.Clone())
			if !tc.refused {
				if err != nil {
					t.Fatalf("Create = %v, want nil", err)
				}
				assertToken(t, find(t, s, tok.Digest), tok)
				return
			}
			if !errors.Is(err, tokenauth.ErrRevoked) {
				t.Fatalf("Create of a token created before its user's cut-off = %v, want ErrRevoked", err)
			}
			_, err = s.Find(ctx, tok.Digest)
			wantNotFound(t, "Find of a refused token", err)
			if l, err := s.List(ctx, tc.user); err != nil || slices.ContainsFunc(l, func(x *tokenauth.Token) bool { return x.ID == tok.ID }) {
				t.Errorf("List holds a refused token (err %v)", err)
			}
		})
	}
	t.Run("never moves back", func(t *testing.T) {
		if _, err := s.DeleteUser(ctx, "user-1", baseTime); err != nil {
			t.Fatalf("DeleteUser with an earlier cut-off: %v", err)
		}
		err := s.Create(ctx, newToken(t, "user-1", cut.Add(-time.Minute)))
		if !errors.Is(err, tokenauth.ErrRevoked) {
			t.Errorf("after an earlier cut-off, Create before the later one = %v, want ErrRevoked", err)
		}
	})
}

// testCutOffRace creates tokens of one user from many goroutines, some
// created before the cut-off and some after, while DeleteUser runs: once
// everything has returned, no token created before the cut-off is left,
// however the calls interleaved, and every Create of a later token that
// succeeded is still there (unless DeleteUser saw it, for later ones made
// before it returned).
func testCutOffRace(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	const rounds, creators, each = 8, 6, 5
	for round := range rounds {
		user := fmt.Sprintf("race-%d", round)
		cut := baseTime.Add(time.Hour)
		kept := newToken(t, user, baseTime)
		create(t, s, kept)
		var wg sync.WaitGroup
		var deleted atomic.Bool
		var mu sync.Mutex
		var lateAfterDelete []*tokenauth.Token // created after the cut-off, once DeleteUser had returned
		start := make(chan struct{})
		for c := range creators {
			wg.Go(func() {
				<-start
				for i := range each {
					early := c%2 == 0
					created := cut.Add(-time.Duration(i+1) * time.Second)
					if !early {
						created = cut.Add(time.Duration(i+1) * time.Second)
					}
					tok := newToken(t, user, created)
					wasDeleted := deleted.Load()
					err := s.Create(ctx, tok)
					switch {
					case err == nil && !early && wasDeleted:
						mu.Lock()
						lateAfterDelete = append(lateAfterDelete, tok)
						mu.Unlock()
					case err == nil:
					case errors.Is(err, tokenauth.ErrRevoked) && early:
					default:
						t.Errorf("Create (created %s the cut-off) = %v", map[bool]string{true: "before", false: "after"}[early], err)
					}
					time.Sleep(rand.N(300 * time.Microsecond))
				}
			})
		}
		close(start)
		time.Sleep(rand.N(time.Millisecond))
		if _, err := s.DeleteUser(ctx, user, cut, kept.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		deleted.Store(true)
		wg.Wait()
		l, err := s.List(ctx, user)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, tok := range l {
			if tok.ID != kept.ID && tok.CreatedAt.Before(cut) {
				t.Errorf("round %d: a token created before the cut-off survived DeleteUser", round)
			}
		}
		if !slices.ContainsFunc(l, func(x *tokenauth.Token) bool { return x.ID == kept.ID }) {
			t.Errorf("round %d: the kept token is gone", round)
		}
		for _, tok := range lateAfterDelete {
			if !slices.ContainsFunc(l, func(x *tokenauth.Token) bool { return x.ID == tok.ID }) {
				t.Errorf("round %d: a token created after DeleteUser returned is gone", round)
			}
		}
	}
}

// testRevokeRace attacks final revocation through Authenticators over the
// store, with and without a cache in front:
//
//   - logins in flight: tokens issued for credentials checked before a
//     RevokeAll (IssueOptions.CreatedAt), stored while and after it runs,
//     never work once it has returned;
//   - a stolen token rotated in a loop never survives RevokeOthers, and
//     the kept session does.
func testRevokeRace(t *testing.T, s tokenauth.Store) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, cached := range []bool{false, true} {
		var store tokenauth.Store = s
		name := "without a cache"
		if cached {
			c, err := cachestore.New(s, cachestore.Options{AllowStaleRevocations: true, Logger: quiet})
			if err != nil {
				t.Fatalf("cachestore.New: %v", err)
			}
			defer c.Close()
			store, name = c, "with a cache"
		}
		a, err := tokenauth.New(store, tokenauth.Options{Logger: quiet, TouchInterval: -1})
		if err != nil {
			t.Fatalf("tokenauth.New: %v", err)
		}
		t.Run("logins in flight "+name, func(t *testing.T) { raceLogins(t, ctx, a) })
		t.Run("rotation loop "+name, func(t *testing.T) { raceRotations(t, ctx, a) })
	}
}

// raceLogins runs logins of one user whose password checks take 0 to 2 ms,
// and a RevokeAll in the middle of them, in several trials.
func raceLogins(t *testing.T, ctx context.Context, a *tokenauth.Authenticator) {
	const trials, logins = 10, 12
	survivors := 0
	for trial := range trials {
		user := fmt.Sprintf("password-change-%d", trial)
		type issued struct {
			key        string
			checkBegan time.Time
		}
		var mu sync.Mutex
		var keys []issued
		var revokedAt atomic.Int64 // UnixNano when RevokeAll began; 0 before
		var wg sync.WaitGroup
		for i := range logins {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 300 * time.Microsecond)
				began := time.Now()
				time.Sleep(rand.N(2 * time.Millisecond)) // the password check
				key, _, err := a.Issue(ctx, user, tokenauth.IssueOptions{Name: "login", CreatedAt: began})
				switch {
				case errors.Is(err, tokenauth.ErrRevoked):
					return
				case err != nil:
					t.Errorf("Issue: %v", err)
					return
				}
				mu.Lock()
				keys = append(keys, issued{key: key, checkBegan: began})
				mu.Unlock()
			})
		}
		time.Sleep(time.Duration(logins) * 150 * time.Microsecond)
		revokedAt.Store(time.Now().UnixNano())
		if _, err := a.RevokeAll(ctx, user); err != nil {
			t.Fatalf("RevokeAll: %v", err)
		}
		wg.Wait()
		// Stores keep times to the microsecond: a check that began in the
		// microsecond the change began is neither before nor after it.
		cut := time.Unix(0, revokedAt.Load()).Truncate(time.Microsecond)
		for _, k := range keys {
			if !k.checkBegan.Truncate(time.Microsecond).Before(cut) {
				continue // checked after the change began: may well live
			}
			if _, err := a.Verify(ctx, k.key); err == nil {
				survivors++
			}
		}
	}
	if survivors > 0 {
		t.Errorf("%d tokens of logins checked before RevokeAll still work after it returned, over %d trials", survivors, trials)
	}
}

// raceRotations rotates a stolen token in a loop while the owner logs out
// other sessions, in several trials.
func raceRotations(t *testing.T, ctx context.Context, a *tokenauth.Authenticator) {
	const trials, others = 10, 5
	kept := 0
	for trial := range trials {
		user := fmt.Sprintf("logout-others-%d", trial)
		_, mine, err := a.Issue(ctx, user, tokenauth.IssueOptions{Name: "mine"})
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		for range others {
			if _, _, err := a.Issue(ctx, user, tokenauth.IssueOptions{Name: "other"}); err != nil {
				t.Fatalf("Issue: %v", err)
			}
		}
		stolenKey, stolen, err := a.Issue(ctx, user, tokenauth.IssueOptions{Name: "stolen"})
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		var last atomic.Value
		last.Store(stolenKey)
		done, stop := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			tok := stolen
			for {
				select {
				case <-stop: // the attacker won: its rotation outlived RevokeOthers
					return
				default:
				}
				key, next, err := a.Rotate(ctx, tok, 0)
				if err != nil {
					return // revoked: the loop is over
				}
				last.Store(key)
				tok = next
			}
		}()
		time.Sleep(rand.N(2 * time.Millisecond))
		if _, err := a.RevokeOthers(ctx, mine); err != nil {
			t.Fatalf("RevokeOthers: %v", err)
		}
		select {
		case <-done:
		case <-time.After(time.Second):
			close(stop)
			<-done
		}
		if _, err := a.Verify(ctx, last.Load().(string)); err == nil {
			kept++
		}
		l, err := a.List(ctx, user)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(l) != 1 || l[0].ID != mine.ID {
			t.Errorf("trial %d: after RevokeOthers the user holds %d tokens, want only the kept one", trial, len(l))
		}
	}
	if kept > 0 {
		t.Errorf("the attacker kept a working token in %d of %d trials", kept, trials)
	}
}
