package login_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var deviceKey = []byte("0123456789abcdef0123456789abcdef") // 32 bytes, for tests only

// loginWith posts JSON credentials from addr with cookies.
func loginWith(t testing.TB, h http.Handler, addr, username, pw string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	ct, body := encodeJSON(t, credentials(username, pw))
	r := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body))
	r.Header.Set("Content-Type", ct)
	r.RemoteAddr = addr
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// deviceCookieOf returns the device cookie a response sets.
func deviceCookieOf(t testing.TB, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == "tokenauth_device" {
			return c
		}
	}
	t.Fatal("no device cookie set")
	return nil
}

// A device that logged in before is trusted from any address: while the
// account is under attack its owner gets in at once from a new address
// that failed before, and after a restart (a new handler with the same
// key), because the cookie, not the server's memory, proves the device.
func TestOwnerWithDeviceDuringAttack(t *testing.T) {
	clock := tokenauthtest.NewClock()
	auth, _ := tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	newHandler := func() *login.Handler {
		h, err := login.New(auth, newUsers(), login.Options{Now: clock.Now, DeviceKey: deviceKey, Logger: discardLogger})
		require.NoError(t, err)
		return h
	}
	h := newHandler()
	cookie := deviceCookieOf(t, loginAs(t, h, "192.0.2.10:1", "john", password))

	s := &siege{h: h, clock: clock, addrs: 1002}
	s.flood(t)
	const hotel = "10.0.0.1:1" // one of the attacker's: not in good standing
	s.run(t, "john", 150*time.Second, func() {
		if s.next == 100 {
			assert.Equal(t, http.StatusTooManyRequests, loginAs(t, h, hotel, "john", password).Code, "without the cookie")
			w := loginWith(t, h, hotel, "john", password, cookie)
			tokenOf(t, w)
			cookie = deviceCookieOf(t, w) // each login sets a new one
		}
	})
	assert.LessOrEqual(t, s.checked, 12+3)

	h = newHandler() // a restart
	s.h = h
	s.run(t, "john", 30*time.Second, nil)
	assert.Equal(t, http.StatusTooManyRequests, loginAs(t, h, "10.0.0.2:1", "john", password).Code, "without the cookie")
	tokenOf(t, loginWith(t, h, "10.0.0.2:1", "john", password, cookie))
}

// Only a cookie that this key signed, for this username, and that has not
// expired, proves a device; the cookie is HttpOnly, Secure and
// SameSite=Strict.
func TestDeviceCookies(t *testing.T) {
	clock := tokenauthtest.NewClock()
	rec := &recordingLimiter{}
	auth, _ := tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	h, err := login.New(auth, newUsers(), login.Options{Now: clock.Now, DeviceKey: deviceKey, Limiter: rec, Logger: discardLogger})
	require.NoError(t, err)
	w := loginAs(t, h, "192.0.2.1:1", "JOHN", password)
	assert.Equal(t, http.StatusBadRequest, w.Code) // the checker's users are case-sensitive
	assert.Empty(t, w.Result().Cookies(), "no cookie for a failed login")
	c := deviceCookieOf(t, loginAs(t, h, "192.0.2.1:1", "john", password))
	assert.True(t, c.HttpOnly)
	assert.True(t, c.Secure)
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Equal(t, 90*24*3600, c.MaxAge)
	assert.NotContains(t, c.Value, "john")

	other, err := login.New(auth, newUsers(), login.Options{Now: clock.Now, DeviceKey: []byte("another key of thirty-two bytes!"), Limiter: rec, Logger: discardLogger})
	require.NoError(t, err)
	tampered := *c
	flip := map[bool]string{true: "B", false: "A"}[strings.HasSuffix(c.Value, "A")]
	tampered.Value = c.Value[:len(c.Value)-1] + flip
	cases := []struct {
		name    string
		h       http.Handler
		user    string
		cookies []*http.Cookie
		proves  bool
	}{
		{"valid", h, "john", []*http.Cookie{c}, true},
		{"another spelling of the username", h, "JOHN", []*http.Cookie{c}, true},
		{"valid after an invalid one", h, "john", []*http.Cookie{&tampered, c}, true},
		{"none", h, "john", nil, false},
		{"tampered", h, "john", []*http.Cookie{&tampered}, false},
		{"garbage", h, "john", []*http.Cookie{{Name: "tokenauth_device", Value: "%%%"}}, false},
		{"another username", h, "jane", []*http.Cookie{c}, false},
		{"another key", other, "john", []*http.Cookie{c}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec.keys = nil
			loginWith(t, tc.h, "192.0.2.1:1", tc.user, "guess", tc.cookies...)
			require.Len(t, rec.keys, 1)
			assert.Equal(t, tc.proves, rec.keys[0].Device != "", rec.keys[0].Device)
		})
	}
	t.Run("expired", func(t *testing.T) {
		clock.Advance(90 * 24 * time.Hour)
		rec.keys = nil
		loginWith(t, h, "192.0.2.1:1", "john", "guess", c)
		require.Len(t, rec.keys, 1)
		assert.Empty(t, rec.keys[0].Device)
	})

	_, err = login.New(auth, newUsers(), login.Options{DeviceKey: []byte("short")})
	assert.ErrorIs(t, err, tokenauth.ErrInvalidOptions)
}
