package tokenauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/memstore"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// linesAt returns the log lines at the given level ("ERROR", "DEBUG").
func linesAt(logs, level string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level="+level+" ") {
			out = append(out, l)
		}
	}
	return out
}

// During an outage every request fails alike: the log gets one line a
// second, and the next line says how many were held back. The bubble's
// fake clock makes the second pass without waiting.
func TestFailureLogBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, logs := logBuffer()
		a, s := tokenauthtest.New(t, tokenauth.Options{Logger: logger})
		key := tokenauthtest.Issue(t, a, "1")
		s.SetErr(errors.New("dial tcp 10.0.0.7:5432: connection refused"))
		h := a.Require()(whoami)

		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.Equal(t, http.StatusServiceUnavailable, serve(h, keyRequest(key)).Code)
			}()
		}
		wg.Wait()
		lines := linesAt(logs.String(), "ERROR")
		require.Len(t, lines, 1, "100 failures in a burst, one line:\n%s", logs)
		assert.Contains(t, lines[0], "connection refused")
		assert.NotContains(t, lines[0], "suppressed")

		time.Sleep(999 * time.Millisecond)
		serve(h, keyRequest(key))
		assert.Len(t, linesAt(logs.String(), "ERROR"), 1, "still within the second")

		time.Sleep(2 * time.Millisecond)
		serve(h, keyRequest(key))
		lines = linesAt(logs.String(), "ERROR")
		require.Len(t, lines, 2)
		assert.Contains(t, lines[1], "suppressed=100", "99 of the burst and one within the second")
		assert.NotContains(t, logs.String(), key[4:], "no key in the log")

		serve(h, keyRequest(key))
		assert.Len(t, linesAt(logs.String(), "ERROR"), 2)
		time.Sleep(time.Second)
		serve(h, keyRequest(key))
		lines = linesAt(logs.String(), "ERROR")
		require.Len(t, lines, 3)
		assert.Contains(t, lines[2], "suppressed=1", "the count starts again")
	})
}

// A call whose client has hung up says nothing about the store: it is
// logged at debug level, whatever the operation, so that anyone closing
// connections early cannot fill the error log, nor use up its one line a
// second.
func TestClientHangUpIsNotLoggedAsStoreFailure(t *testing.T) {
	logger, logs := logBuffer()
	mem := memstore.New()
	issuer, err := tokenauth.New(mem, tokenauth.Options{})
	require.NoError(t, err)
	key, tok, err := issuer.Issue(context.Background(), "1", tokenauth.IssueOptions{})
	require.NoError(t, err)
	store := newStallStore(t, mem, "Create", "Find", "Delete", "DeleteUser", "List")
	a, err := tokenauth.New(store, tokenauth.Options{Logger: logger, StoreTimeout: 20 * time.Millisecond})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client has gone
	_, err = a.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	rec := serve(a.Require()(whoami), keyRequest(key).WithContext(ctx))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	_, _, err = a.Issue(ctx, "1", tokenauth.IssueOptions{})
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.ErrorIs(t, a.Revoke(ctx, tok.ID), tokenauth.ErrUnavailable)
	_, err = a.RevokeAll(ctx, "1")
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	_, err = a.List(ctx, "1")
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	_, err = a.RevokeOthers(ctx, tok)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	_, _, err = a.Rotate(ctx, tok, 0)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)

	assert.Empty(t, linesAt(logs.String(), "ERROR"), logs.String())
	assert.Empty(t, linesAt(logs.String(), "WARN"), logs.String())
	assert.GreaterOrEqual(t, len(linesAt(logs.String(), "DEBUG")), 8, "each hang-up leaves a debug line")

	// A loader ended by the client, too.
	b, err := tokenauth.New(mem, tokenauth.Options{Logger: logger, UserLoader: func(ctx context.Context, _ string) (any, error) {
		return nil, ctx.Err()
	}})
	require.NoError(t, err)
	_, err = b.Verify(ctx, key)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.Empty(t, linesAt(logs.String(), "ERROR"), logs.String())

	// A store that times out on its own is an outage, and logged as one:
	// the hang-ups did not use up the line.
	_, err = a.Verify(context.Background(), key)
	assert.ErrorIs(t, err, tokenauth.ErrUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Len(t, linesAt(logs.String(), "ERROR"), 1)
	assert.NotContains(t, logs.String(), key[4:], "no key in the log")
}
