package redisstore_test

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/internal/faultproxy"
	"github.com/go-tokenauth/tokenauth/stores/redisstore"
)

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		payload  string
		id, user string
		ok       bool
	}{
		{"3:abcuser:1", "abc", "user:1", true},
		{"4:a:b:u:v", "a:b:", "u:v", true},
		{"2:ab", "ab", "", true},
		{"0:user", "", "user", true},
		{"", "", "", false},
		{"abc", "", "", false},
		{"x:abc", "", "", false},
		{"-1:abc", "", "", false},
		{"9:abc", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.payload, func(t *testing.T) {
			id, user, ok := redisstore.DecodeEvent(tc.payload)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.id, id)
			assert.Equal(t, tc.user, user)
		})
	}
}

type event struct{ id, user string }

// watching runs s.Watch until the test ends and returns its events, once
// it is subscribed, and the channel its error arrives on.
func watching(t *testing.T, s *redisstore.Store) (<-chan event, <-chan error, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events, ready, done, exited := make(chan event, 100), make(chan struct{}), make(chan error, 1), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(exited)
		done <- s.Watch(ctx, func() { once.Do(func() { close(ready) }) }, func(id, user string) { events <- event{id, user} })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return once its context ended")
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Watch: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not subscribe")
	}
	return events, done, cancel
}

func nextEvent(t *testing.T, events <-chan event) event {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return event{}
	}
}

// Every deletion and early expiry is published, with the token's ID and
// user; what changes nothing is not.
func TestWatchEvents(t *testing.T) {
	ctx := context.Background()
	s, c, prefix := newTestStore(t, redisstore.Options{})
	// A store under another prefix on the same server is not heard.
	other, err := redisstore.New(c, redisstore.Options{Prefix: prefix + "other:"})
	require.NoError(t, err)
	cleanUp(t, c, prefix+"other:")
	events, _, _ := watching(t, s)

	toks := make([]*tokenauth.Token, 4)
	for i := range toks {
		toks[i] = newToken(t, "user:1")
		require.NoError(t, s.Create(ctx, toks[i].Clone()))
	}
	theirs := newToken(t, "user 2")
	require.NoError(t, s.Create(ctx, theirs.Clone()))
	require.NoError(t, other.Create(ctx, newToken(t, "user:1")))

	_, err = other.DeleteUser(ctx, "user:1", time.Now())
	require.NoError(t, err)
	assert.ErrorIs(t, s.Delete(ctx, "no such token"), tokenauth.ErrNotFound)
	require.NoError(t, s.Delete(ctx, toks[0].ID))
	assert.Equal(t, event{toks[0].ID, "user:1"}, nextEvent(t, events), "Delete; nothing for a missing token or another prefix")

	at := time.Now().Add(time.Minute)
	require.NoError(t, s.Expire(ctx, theirs.ID, at))
	assert.Equal(t, event{theirs.ID, "user 2"}, nextEvent(t, events), "Expire")
	require.NoError(t, s.Expire(ctx, theirs.ID, at.Add(time.Hour)), "a later time changes nothing")
	assert.ErrorIs(t, s.Expire(ctx, "no such token", at), tokenauth.ErrNotFound)

	n, err := s.DeleteUser(ctx, "user:1", time.Now())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	got := map[event]bool{}
	for i := 0; i < 3; i++ {
		got[nextEvent(t, events)] = true
	}
	assert.Equal(t, map[event]bool{{toks[1].ID, "user:1"}: true, {toks[2].ID, "user:1"}: true, {toks[3].ID, "user:1"}: true}, got, "DeleteUser")
	select {
	case e := <-events:
		t.Errorf("unexpected event %v", e)
	case <-time.After(50 * time.Millisecond):
	}
}

// Watch returns as soon as its context ends.
func TestWatchContext(t *testing.T) {
	s, _, _ := newTestStore(t, redisstore.Options{})
	_, done, cancel := watching(t, s)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, s.Watch(ctx, func() {}, func(string, string) {}), context.Canceled)
}

// A broken connection ends Watch with an error, whether it is closed or
// goes silent: go-redis would otherwise reconnect behind its back and
// events published meanwhile would be lost without a word.
func TestWatchBrokenConnection(t *testing.T) {
	addr := testAddr(t)
	tests := []struct {
		name    string
		breakIt func(p *faultproxy.Proxy)
		wantErr string
	}{
		{"cut", (*faultproxy.Proxy).Cut, "redisstore: watch: "},
		{"black hole", (*faultproxy.Proxy).Blackhole, "did not answer in time"},
		{"freeze", (*faultproxy.Proxy).Freeze, "did not answer in time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := faultproxy.New(addr)
			require.NoError(t, err)
			t.Cleanup(func() { _ = p.Close() })
			client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: p.Addr(), MaxRetries: -1, DialTimeout: time.Second})
			t.Cleanup(func() { _ = client.Close() })
			s, err := redisstore.New(client, redisstore.Options{Prefix: testPrefix(t, testClient(t))})
			require.NoError(t, err)
			const ping = 100 * time.Millisecond
			redisstore.SetWatchPing(s, ping, ping)
			_, done, _ := watching(t, s)

			select {
			case err := <-done:
				t.Fatalf("Watch ended on an idle, healthy connection: %v", err)
			case <-time.After(3 * ping):
			}
			start := time.Now()
			tc.breakIt(p)
			select {
			case err := <-done:
				require.Error(t, err)
				assert.NotErrorIs(t, err, context.Canceled)
				assert.Contains(t, err.Error(), tc.wantErr)
				t.Logf("noticed after %v: %v", time.Since(start), err)
				assert.Less(t, time.Since(start), 2*time.Second)
			case <-time.After(30 * time.Second):
				t.Fatal("Watch did not notice the broken connection")
			}

			p.Restore()
			watching(t, s) // subscribes again
		})
	}
}

// The figure for a connection that freezes (a hung server, a paused VM, a
// dropped route: nothing is closed, nothing arrives), with the default
// timings: how long from the freeze until Watch gives up, and until the
// cache over it stops trusting itself and sends every lookup to Redis.
// alive is not called meanwhile.
func TestWatchFreezeDetection(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes the connection five times, 1.5 s each")
	}
	const trials = 5
	proxy, err := faultproxy.New(testAddr(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })
	r := newReplica(t, replicaConfig{prefix: testPrefix(t, testClient(t)), watchAddr: proxy.Addr()})
	var took []time.Duration
	for range trials {
		time.Sleep(1200 * time.Millisecond) // a few pings answered
		require.True(t, r.cache.Stats().Watching)
		n, _ := r.hooks.get()
		start := time.Now()
		proxy.Freeze()
		for r.cache.Stats().Watching {
			require.Less(t, time.Since(start), 10*time.Second, "the cache still trusts a frozen connection")
			time.Sleep(time.Millisecond)
		}
		took = append(took, time.Since(start))
		r.waitWatching(t, false) // OnWatch tells, just after
		m, _ := r.hooks.get()
		assert.Equal(t, n+1, m, "one call of OnWatch: the subscription broke")
		proxy.Restore()
		r.waitWatching(t, true)
	}
	slices.Sort(took)
	t.Logf("a frozen subscription noticed after: min %v, median %v, max %v (%d freezes)",
		took[0].Round(time.Millisecond), took[trials/2].Round(time.Millisecond), took[trials-1].Round(time.Millisecond), trials)
	assert.Less(t, took[trials/2], 2*time.Second, "median")
	assert.Less(t, took[trials-1], 3*time.Second, "max: the cache's own bound, aliveFor")
}

// A message on the channel that the store did not write ends Watch: the
// safe reading is that anything may have changed.
func TestWatchMalformedEvent(t *testing.T) {
	s, c, prefix := newTestStore(t, redisstore.Options{})
	_, done, _ := watching(t, s)
	require.NoError(t, c.Publish(context.Background(), prefix+"events", "garbage").Err())
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "malformed event")
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return")
	}
}

// Expire brings both expiries forward, never back, and moves the keys'
// deadline with them.
func TestExpire(t *testing.T) {
	ctx := context.Background()
	const retention = time.Hour
	s, c, p := newTestStore(t, redisstore.Options{Retention: retention})
	now := time.Now().UTC().Truncate(time.Microsecond)
	tests := []struct {
		name             string
		expires, max     time.Time
		at               time.Time
		wantExp, wantMax time.Time
	}{
		{"never expiring", time.Time{}, time.Time{}, now.Add(time.Minute), now.Add(time.Minute), now.Add(time.Minute)},
		{"later expiry", now.Add(time.Hour), now.Add(24 * time.Hour), now.Add(time.Minute), now.Add(time.Minute), now.Add(time.Minute)},
		{"earlier expiry kept", now.Add(30 * time.Second), now.Add(24 * time.Hour), now.Add(time.Minute), now.Add(30 * time.Second), now.Add(time.Minute)},
		{"both earlier kept", now.Add(10 * time.Second), now.Add(20 * time.Second), now.Add(time.Minute), now.Add(10 * time.Second), now.Add(20 * time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := newToken(t, "u1")
			tok.ExpiresAt, tok.MaxExpiresAt = tc.expires, tc.max
			require.NoError(t, s.Create(ctx, tok.Clone()))
			require.NoError(t, s.Expire(ctx, tok.ID, tc.at))
			got, err := s.Find(ctx, tok.Digest)
			require.NoError(t, err)
			assert.Equal(t, tc.wantExp, got.ExpiresAt)
			assert.Equal(t, tc.wantMax, got.MaxExpiresAt)
			want := time.Until(tc.wantExp) + retention
			assert.InDelta(t, want.Seconds(), pttl(t, c, p+"t:"+hex.EncodeToString(tok.Digest)).Seconds(), 2, "the token expires with its new expiry")
			if idTTL := pttl(t, c, p+"id:"+tok.ID); idTTL != -1 {
				assert.GreaterOrEqual(t, idTTL.Seconds()+2, want.Seconds(), "the ID key outlives the token")
			}
			// A touch after it cannot stretch the token past it.
			require.NoError(t, touch(t, s, tok.ID, now, now.Add(48*time.Hour)))
			got, err = s.Find(ctx, tok.Digest)
			require.NoError(t, err)
			assert.False(t, got.ExpiresAt.After(tc.wantMax), "ExpiresAt %v past %v", got.ExpiresAt, tc.wantMax)
		})
	}
	t.Run("zero time", func(t *testing.T) {
		assert.Error(t, s.Expire(ctx, "x", time.Time{}))
	})
}

// Touch records each use of a batch, skips tokens that are gone,
// spans several pipelines, and survives a server that lost its scripts.
func TestTouchPipelines(t *testing.T) {
	ctx := context.Background()
	s, c, _ := newTestStore(t, redisstore.Options{})
	now := time.Now().UTC().Truncate(time.Microsecond)
	var toks []*tokenauth.Token
	var uses []tokenauth.TokenUse
	for i := 0; i < 700; i++ {
		tok := newToken(t, "u1")
		if i%2 == 0 {
			tok.ExpiresAt, tok.MaxExpiresAt = now.Add(time.Hour), now.Add(2*time.Hour)
			require.NoError(t, s.Create(ctx, tok.Clone()))
			toks = append(toks, tok)
		} // odd ones are never stored: gone
		uses = append(uses, tokenauth.TokenUse{ID: tok.ID, LastUsed: now.Add(time.Duration(i) * time.Millisecond), ExpiresAt: now.Add(3 * time.Hour)})
	}
	require.NoError(t, s.Touch(ctx, uses))
	for i, tok := range toks {
		got, err := s.Find(ctx, tok.Digest)
		require.NoError(t, err)
		require.Equal(t, uses[2*i].LastUsed, got.LastUsedAt, "token %d", i)
		require.Equal(t, tok.MaxExpiresAt, got.ExpiresAt, "token %d: capped at its deadline", i)
	}

	// The server forgets its scripts on a restart or a SCRIPT FLUSH.
	require.NoError(t, c.ScriptFlush(ctx).Err())
	later := []tokenauth.TokenUse{{ID: toks[0].ID, LastUsed: now.Add(time.Hour)}}
	require.NoError(t, s.Touch(ctx, later))
	got, err := s.Find(ctx, toks[0].Digest)
	require.NoError(t, err)
	assert.Equal(t, now.Add(time.Hour), got.LastUsedAt)

	assert.NoError(t, s.Touch(ctx, nil))
}

func TestTouchUnreachable(t *testing.T) {
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	s, err := redisstore.New(client, redisstore.Options{})
	require.NoError(t, err)
	err = s.Touch(context.Background(), []tokenauth.TokenUse{{ID: "x", LastUsed: time.Now()}})
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
	assert.True(t, strings.HasPrefix(err.Error(), "redisstore: touch: "), err.Error())
	err = s.Expire(context.Background(), "x", time.Now())
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "redisstore: expire: "), err.Error())
	err = s.Watch(context.Background(), func() { t.Error("ready without a server") }, func(string, string) {})
	require.Error(t, err)
	assert.False(t, errors.Is(err, context.Canceled))
	assert.True(t, strings.HasPrefix(err.Error(), "redisstore: watch: "), err.Error())
}
