package login_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIssuedToken(t *testing.T) {
	clock := tokenauthtest.NewClock()
	now := clock.Now()
	cases := []struct {
		name   string
		opts   tokenauth.Options
		lopts  login.Options
		expiry string
		token  tokenauth.Token
	}{
		{"defaults", tokenauth.Options{}, login.Options{}, "", tokenauth.Token{Name: "login"}},
		{"authenticator default TTL", tokenauth.Options{DefaultTTL: time.Hour}, login.Options{},
			now.Add(time.Hour).Format(time.RFC3339), tokenauth.Token{Name: "login", ExpiresAt: now.Add(time.Hour)}},
		{"login options", tokenauth.Options{DefaultTTL: time.Hour},
			login.Options{TokenName: "web", Scopes: []string{"read", "write"}, TTL: 90 * time.Minute},
			now.Add(90 * time.Minute).Format(time.RFC3339),
			tokenauth.Token{Name: "web", Scopes: []string{"read", "write"}, ExpiresAt: now.Add(90 * time.Minute)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Now = clock.Now
			fx := newFixture(t, c.opts, c.lopts)
			w := loginAs(t, fx.h, "", "john", password)
			require.Equal(t, http.StatusOK, w.Code)

			var resp map[string]string
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
			assert.Equal(t, c.expiry, resp["expiry"])
			_, hasExpiry := resp["expiry"]
			assert.Equal(t, c.expiry != "", hasExpiry)

			tok := mustVerify(t, fx.auth, resp["token"])
			assert.Equal(t, "1", tok.UserID)
			assert.Equal(t, c.token.Name, tok.Name)
			assert.Equal(t, c.token.Scopes, tok.Scopes)
			assert.True(t, c.token.ExpiresAt.Equal(tok.ExpiresAt), "ExpiresAt = %v", tok.ExpiresAt)
		})
	}

	t.Run("options are copied", func(t *testing.T) {
		scopes := []string{"read"}
		fx := newFixture(t, tokenauth.Options{}, login.Options{Scopes: scopes})
		scopes[0] = "admin"
		tok := mustVerify(t, fx.auth, tokenOf(t, loginAs(t, fx.h, "", "john", password)))
		assert.Equal(t, []string{"read"}, tok.Scopes)
	})

	t.Run("each login issues a new token", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{})
		first := tokenOf(t, loginAs(t, fx.h, "", "john", password))
		second := tokenOf(t, loginAs(t, fx.h, "", "john", password))
		assert.NotEqual(t, first, second)
		assert.Len(t, userTokens(t, fx.auth, "1"), 2)
	})
}

func TestMaxTokensPerUser(t *testing.T) {
	valid := func(fx *fixture, key string) bool {
		_, err := fx.auth.Verify(context.Background(), key)
		return err == nil
	}

	t.Run("revoke oldest", func(t *testing.T) {
		clock := tokenauthtest.NewClock()
		fx := newFixture(t, tokenauth.Options{Now: clock.Now}, login.Options{MaxTokensPerUser: 2, Now: clock.Now})
		ctx := context.Background()
		cli, _, err := fx.auth.Issue(ctx, "1", tokenauth.IssueOptions{Name: "cli"})
		require.NoError(t, err)
		expired, _, err := fx.auth.Issue(ctx, "1", tokenauth.IssueOptions{Name: "login", TTL: time.Second})
		require.NoError(t, err)
		other, _, err := fx.auth.Issue(ctx, "2", tokenauth.IssueOptions{Name: "login"})
		require.NoError(t, err)

		var keys []string
		for range 4 {
			clock.Advance(time.Second)
			keys = append(keys, tokenOf(t, loginAs(t, fx.h, "", "john", password)))
		}
		assert.False(t, valid(fx, keys[0]), "oldest login token revoked")
		assert.False(t, valid(fx, keys[1]), "oldest login token revoked")
		assert.True(t, valid(fx, keys[2]))
		assert.True(t, valid(fx, keys[3]))
		assert.True(t, valid(fx, cli), "tokens with another name are not counted or revoked")
		assert.True(t, valid(fx, other), "other users are untouched")
		assert.False(t, valid(fx, expired))
	})

	t.Run("refuse", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{MaxTokensPerUser: 2, RefuseOverMax: true})
		first := tokenOf(t, loginAs(t, fx.h, "", "john", password))
		second := tokenOf(t, loginAs(t, fx.h, "", "john", password))
		w := loginAs(t, fx.h, "", "john", password)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.Equal(t, `{"detail":"Maximum amount of tokens allowed per user exceeded."}`, w.Body.String())
		assert.True(t, valid(fx, first))
		assert.True(t, valid(fx, second))
		assert.Len(t, userTokens(t, fx.auth, "1"), 2)

		require.NoError(t, fx.auth.Revoke(context.Background(), mustVerify(t, fx.auth, first).ID))
		tokenOf(t, loginAs(t, fx.h, "", "john", password))
	})

	t.Run("store outage", func(t *testing.T) {
		fx := newFixture(t, tokenauth.Options{}, login.Options{MaxTokensPerUser: 2, RefuseOverMax: true})
		fx.store.SetErr(errors.New("down"))
		assert.Equal(t, http.StatusServiceUnavailable, loginAs(t, fx.h, "", "john", password).Code)
	})
}
