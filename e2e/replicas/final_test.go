package replicas

import (
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/e2e/internal/service"
)

const (
	// checkDelay is how long each password check takes on the replicas of
	// TestFinalRevocation: a slow password hash, so that logins are in
	// flight when the password changes.
	checkDelay = 20 * time.Millisecond
	// passwordChanges and logoutOthers are how many times each race runs
	// per store.
	passwordChanges = 20
	logoutOthers    = 30
	// loginWorkers log in back to back during each password change.
	loginWorkers = 6
	// settleFactor times the store's lag bound is how long after a
	// revocation returned a replica may still accept a token it revoked:
	// the lag test holds the p99 under the bound; its slowest revocations
	// take up to half as long again on a loaded machine.
	settleFactor = 2
)

// TestFinalRevocation runs the races of the revocation issue between two
// replica processes with hour-long caches over one store:
//
//   - password-change: logins run back to back on A, each password check
//     taking 20 ms, while the user's password changes on B (RevokeAll, as
//     a password change calls it). No token of a login whose password check
//     began before the change works on either replica once the change has
//     returned and its event has had time to arrive (twice the lag bound:
//     settleFactor); every token of a login sent after the change works on
//     both. Tokens are cached on both replicas as soon as they are issued.
//   - logout-others: an attacker rotates a stolen token in a loop on A,
//     each new token cached on both replicas, while its owner logs out
//     other sessions on B. The attacker keeps no working token, in none of
//     the trials; the owner's token keeps working on both replicas. A
//     rotation or logout answered 503 (on MySQL the two can deadlock) is
//     tried again, as a client does, and counted.
//
// It logs how many logins were in flight when the password changed and
// what became of them, and the longest a revoked token was still accepted
// after the revocation returned. It runs with TOKENAUTH_LONG=1, over the
// stores of TestRevocationLag.
func TestFinalRevocation(t *testing.T) {
	bins := long(t)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			st := s.get(t, bins)
			r := startPair(t, bins, st, "-check-delay", checkDelay.String())
			settle := settleFactor * st.bound
			t.Run("password-change", func(t *testing.T) {
				var all passwordFigures
				for i := range passwordChanges {
					f, err := r.changePassword(settle)
					require.NoError(t, err, "password change #%d", i)
					all.add(f)
				}
				t.Logf("password change %s: %d changes; %d logins, %d in flight when the password changed: %d refused (400), %d issued and revoked, %d issued after the user's cut-off and kept",
					s.name, passwordChanges, all.logins, all.inFlight, all.refused, all.revoked, all.kept)
				t.Logf("password change %s: a token issued before the change was last seen accepted %s (bound %s); %d tokens of logins sent after it work on both replicas",
					s.name, seenAfter(all.longest), settle, all.after)
				assert.Positive(t, all.inFlight, "logins in flight when the password changed: the race was run")
			})
			t.Run("logout-others", func(t *testing.T) {
				kept := 0
				var rotations, n, unavailable int
				var longest time.Duration
				for i := range logoutOthers {
					f, err := r.logoutOthersDuringRotation(settle)
					require.NoError(t, err, "trial #%d", i)
					if f.kept > 0 {
						kept++
					}
					rotations += f.rotations
					unavailable += f.unavailable
					n += f.tokens
					longest = max(longest, f.longest)
				}
				t.Logf("logout others %s: the attacker kept a working token in %d of %d trials; %d rotations, %d tokens held, one last seen accepted %s (bound %s); %d rotations or logouts answered 503 and were tried again",
					s.name, kept, logoutOthers, rotations, n, seenAfter(longest), settle, unavailable)
				assert.Zero(t, kept, "trials in which the attacker kept a working token")
			})
		})
	}
}

// issued is a login made during a password change.
type issued struct {
	key        string
	sent, done time.Time
	status     int
}

// passwordFigures count one password change's logins.
type passwordFigures struct {
	logins, inFlight       int
	refused, revoked, kept int
	after                  int
	longest                time.Duration
}

func (f *passwordFigures) add(g passwordFigures) {
	f.logins += g.logins
	f.inFlight += g.inFlight
	f.refused += g.refused
	f.revoked += g.revoked
	f.kept += g.kept
	f.after += g.after
	f.longest = max(f.longest, g.longest)
}

// changePassword logs a fresh user in on A from loginWorkers goroutines
// without pause, caching each token on both replicas, changes the user's
// password on B meanwhile, and checks every token the logins got on both
// replicas: those got before the change returned from then on, the
// others as they come.
func (r *run) changePassword(settle time.Duration) (passwordFigures, error) {
	var f passwordFigures
	user := "pw-" + rand.Text()
	owner, err := r.c.login(r.b, user)
	if err != nil {
		return f, err
	}

	type verdict struct {
		login issued
		seen  time.Duration
		kept  bool
	}
	var (
		mu       sync.Mutex
		logins   = []issued{{key: owner, status: http.StatusOK}}
		errs     []error
		verdicts []verdict
		checks   sync.WaitGroup
		// Set once the change returned: then each token is checked.
		changed  service.PasswordChanged
		returned time.Time
		cutoff   time.Time
	)
	// check judges l's token on both replicas; mu held.
	check := func(l issued) {
		if l.status != http.StatusOK {
			return
		}
		for _, base := range []string{r.a, r.b} {
			checks.Add(1)
			go func() {
				defer checks.Done()
				seen, kept, err := r.finalCheck(base, l.key, cutoff, returned, settle, l.sent.After(returned))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s, a login sent %s after the change began: %w", base, l.sent.Sub(changed.Began), err))
				}
				verdicts = append(verdicts, verdict{login: l, seen: seen, kept: kept})
			}()
		}
	}

	stop := make(chan struct{})
	var workers sync.WaitGroup
	for range loginWorkers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l, err := r.loginAndCache(user)
				mu.Lock()
				logins = append(logins, l)
				if err != nil {
					errs = append(errs, err)
				} else if !returned.IsZero() {
					check(l)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}

	// The change falls at a random point of the logins' password checks.
	time.Sleep(checkDelay + mrand.N(2*checkDelay))
	var c service.PasswordChanged
	err = r.c.expect(http.MethodPost, r.b+"/api/password/", owner, http.StatusOK, &c)
	mu.Lock()
	returned, changed = time.Now(), c
	// Cut-offs and CreatedAt are kept to the microsecond.
	cutoff = c.Began.Truncate(time.Microsecond)
	if err != nil {
		errs = append(errs, err)
	} else {
		for _, l := range logins {
			check(l)
		}
	}
	mu.Unlock()
	// Logins sent after the change, which must keep their tokens.
	time.Sleep(3 * checkDelay)
	close(stop)
	workers.Wait()
	checks.Wait()
	if err := errors.Join(errs...); err != nil {
		return f, err
	}

	inFlight := func(l issued) bool { return l.sent.Before(changed.Began) && l.done.After(changed.Began) }
	for _, l := range logins {
		f.logins++
		if inFlight(l) {
			f.inFlight++
			if l.status == http.StatusBadRequest {
				f.refused++ // the login's token was refused: ErrRevoked
			}
		}
	}
	// Two verdicts per token, one per replica: a token is kept if
	// either replica took it for one created after the cut-off.
	kept := map[string]bool{}
	for _, v := range verdicts {
		f.longest = max(f.longest, v.seen)
		kept[v.login.key] = kept[v.login.key] || v.kept
	}
	for _, l := range logins {
		switch {
		case l.status != http.StatusOK:
		case l.sent.After(returned):
			f.after++
		case inFlight(l) && kept[l.key]:
			f.kept++
		case inFlight(l):
			f.revoked++
		}
	}
	return f, nil
}

// loginAndCache logs user in on A and has both replicas cache the token.
func (r *run) loginAndCache(user string) (issued, error) {
	l := issued{sent: time.Now()}
	var resp struct{ Token string }
	status, err := r.c.do(http.MethodPost, r.a+"/api-token-auth/", "", url.Values{"username": {user}, "password": {service.Password}}, &resp)
	l.done, l.status, l.key = time.Now(), status, resp.Token
	switch {
	case err != nil:
		return l, err
	case status == http.StatusBadRequest:
		return l, nil // a password change refused the login's token
	case status != http.StatusOK:
		return l, fmt.Errorf("login: status %d", status)
	}
	// Whatever the answers, finalCheck judges them.
	for _, base := range []string{r.a, r.b, r.b} {
		if _, err := r.c.do(http.MethodGet, base+"/api/me/", l.key, nil, nil); err != nil {
			return l, err
		}
	}
	return l, nil
}

// finalCheck asks the replica at base about key until it is refused or
// settle has passed since returned, when a revocation returned. A token
// created before cutoff must be refused by then; one created after it is
// kept (kept). mustWork says the login was sent after the revocation
// returned: its token must work. seen is how long after returned the
// replica last accepted a token created before cutoff, as far as these
// requests saw (negative: never after returned).
func (r *run) finalCheck(base, key string, cutoff, returned time.Time, settle time.Duration, mustWork bool) (seen time.Duration, kept bool, err error) {
	seen = -1
	for {
		var me service.Me
		status, err := r.c.do(http.MethodGet, base+"/api/me/", key, nil, &me)
		now := time.Now()
		switch {
		case err != nil:
			return seen, false, err
		case status == http.StatusUnauthorized && mustWork:
			return seen, false, errors.New("a token of a login sent after the revocation returned is refused")
		case status == http.StatusUnauthorized:
			return seen, false, nil
		case status != http.StatusOK:
			return seen, false, fmt.Errorf("status %d", status)
		case !me.CreatedAt.Before(cutoff):
			return seen, true, nil
		}
		seen = now.Sub(returned)
		if seen > settle {
			return seen, false, fmt.Errorf("%w: created %s before the cut-off, accepted %s after the revocation returned",
				errStillAccepted, cutoff.Sub(me.CreatedAt), seen.Round(time.Millisecond))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// errStillAccepted is finalCheck's error for a token that outlived its
// revocation.
var errStillAccepted = errors.New("a revoked token is still accepted")

// rotationFigures are one logout-others trial's.
type rotationFigures struct {
	rotations, tokens int
	// unavailable counts the rotations and logouts answered 503.
	unavailable int
	// kept counts the attacker's tokens still accepted once the logout
	// settled: zero, or the attacker won.
	kept    int
	longest time.Duration
}

// logoutOthersDuringRotation gives a fresh user a token on B, the owner's,
// and another on A, which an attacker stole and rotates without pause on A
// (each new token cached on both replicas) while the owner logs out other
// sessions on B.
func (r *run) logoutOthersDuringRotation(settle time.Duration) (rotationFigures, error) {
	var f rotationFigures
	user := "stolen-" + rand.Text()
	owner, err := r.c.login(r.b, user)
	if err != nil {
		return f, err
	}
	stolen, err := r.c.login(r.a, user)
	if err != nil {
		return f, err
	}
	held := []string{stolen}
	var mu sync.Mutex
	stop := make(chan struct{})
	attacker := make(chan error, 1)
	go func() {
		key := stolen
		for {
			select {
			case <-stop:
				attacker <- nil
				return
			default:
			}
			var rotated service.Rotated
			status, err := r.c.do(http.MethodPost, r.a+"/api/rotate/", key, nil, &rotated)
			switch {
			case err != nil:
				attacker <- err
				return
			case status == http.StatusUnauthorized:
				attacker <- nil // the attacker lost its token
				return
			case status == http.StatusServiceUnavailable:
				// The store failed the rotation (on MySQL, a deadlock
				// with the logout): try again, as a client does.
				mu.Lock()
				f.unavailable++
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
				continue
			case status != http.StatusOK:
				attacker <- fmt.Errorf("rotate: status %d", status)
				return
			}
			key = rotated.Token
			mu.Lock()
			held = append(held, key)
			f.rotations++
			mu.Unlock()
			for _, base := range []string{r.a, r.b} {
				if _, err := r.c.do(http.MethodGet, base+"/api/me/", key, nil, nil); err != nil {
					attacker <- err
					return
				}
			}
		}
	}()

	time.Sleep(mrand.N(30 * time.Millisecond))
	// The owner tries again after a 503, as a client does; the logout is
	// final once one attempt has succeeded.
	for attempt := 1; ; attempt++ {
		var status int
		status, err = r.c.do(http.MethodPost, r.b+"/api/logoutothers/", owner, nil, nil)
		if err != nil || status != http.StatusServiceUnavailable || attempt == 5 {
			if err == nil && status != http.StatusNoContent {
				err = fmt.Errorf("logout others: status %d", status)
			}
			break
		}
		mu.Lock()
		f.unavailable++
		mu.Unlock()
	}
	returned := time.Now()
	// The attacker stops at its first refused rotation; one still
	// rotating after settle is stopped, and its tokens judged.
	var aerr error
	select {
	case aerr = <-attacker:
	case <-time.After(settle):
		close(stop)
		aerr = <-attacker
	}
	if err = errors.Join(err, aerr); err != nil {
		return f, err
	}

	// Every token the attacker held is refused by both replicas within
	// settle; the owner's works. The cut-off is the logout's: every
	// token the attacker held was created before the logout returned.
	var cerrs []error
	var wg sync.WaitGroup
	f.tokens = len(held)
	for _, key := range held {
		for _, base := range []string{r.a, r.b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				seen, kept, err := r.finalCheck(base, key, returned, returned, settle, false)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					cerrs = append(cerrs, fmt.Errorf("%s: %w", base, err))
				}
				if kept || errors.Is(err, errStillAccepted) {
					f.kept++
				}
				f.longest = max(f.longest, seen)
			}()
		}
	}
	wg.Wait()
	for _, base := range []string{r.a, r.b} {
		if err := r.c.expect(http.MethodGet, base+"/api/me/", owner, http.StatusOK, nil); err != nil {
			cerrs = append(cerrs, fmt.Errorf("the owner's token, on %s: %w", base, err))
		}
	}
	if f.kept > 0 {
		cerrs = append(cerrs, fmt.Errorf("the attacker kept working tokens: %d answers of the two replicas about its %d tokens", f.kept, f.tokens))
	}
	return f, errors.Join(cerrs...)
}

// seenAfter says how long after a revocation returned a revoked token was
// last seen accepted.
func seenAfter(d time.Duration) string {
	if d <= 0 {
		return "never after the revocation returned"
	}
	return d.Round(100*time.Microsecond).String() + " after the revocation returned"
}
