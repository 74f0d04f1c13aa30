package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogin(t *testing.T) {
	type answer struct {
		status     int
		retryAfter string
		body       string
	}
	cases := []struct {
		name    string
		answer  answer
		key     string
		refusal *client.LoginError // nil: not a LoginError
	}{
		{"token", answer{200, "", `{"token":"tka_abc"}`}, "tka_abc", nil},
		{"DRF key", answer{200, "", `{"token":"9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}`}, "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"bad credentials", answer{400, "", `{"non_field_errors":["Unable to log in with provided credentials."]}`}, "",
			&client.LoginError{StatusCode: 400, Fields: map[string][]string{"non_field_errors": {"Unable to log in with provided credentials."}}}},
		{"missing fields", answer{400, "", `{"username":["This field is required."],"password":["This field is required."]}`}, "",
			&client.LoginError{StatusCode: 400, Fields: map[string][]string{"username": {"This field is required."}, "password": {"This field is required."}}}},
		{"throttled", answer{429, "7", `{"detail":"Request was throttled. Expected available in 7 seconds."}`}, "",
			&client.LoginError{StatusCode: 429, Detail: "Request was throttled. Expected available in 7 seconds.", RetryAfter: 7 * time.Second}},
		{"outage", answer{503, "5", `{"detail":"Authentication service temporarily unavailable, try again later."}`}, "",
			&client.LoginError{StatusCode: 503, Detail: "Authentication service temporarily unavailable, try again later.", RetryAfter: 5 * time.Second}},
		{"HTML error page", answer{502, "", `<html>Bad Gateway</html>`}, "", &client.LoginError{StatusCode: 502}},
		{"Retry-After as a date", answer{429, "Wed, 21 Oct 2026 07:28:00 GMT", `{}`}, "", &client.LoginError{StatusCode: 429}},
		{"200 without token", answer{200, "", `{}`}, "", nil},
		{"200 with empty token", answer{200, "", `{"token":""}`}, "", nil},
		{"200 not JSON", answer{200, "", `ok`}, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				method, contentType string
				body                map[string]string
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.method, got.contentType = r.Method, r.Header.Get("Content-Type")
				_ = json.NewDecoder(r.Body).Decode(&got.body)
				if tc.answer.retryAfter != "" {
					w.Header().Set("Retry-After", tc.answer.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.answer.status)
				_, _ = io.WriteString(w, tc.answer.body)
			}))
			defer srv.Close()

			key, err := client.Login(context.Background(), nil, srv.URL+"/api-token-auth/", "alice", "pa ss\"word")
			assert.Equal(t, http.MethodPost, got.method)
			assert.Equal(t, "application/json", got.contentType)
			assert.Equal(t, map[string]string{"username": "alice", "password": "pa ss\"word"}, got.body)
			assert.Equal(t, tc.key, key)
			if tc.key != "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "pa ss", "the password is never in error text")
			var refused *client.LoginError
			if tc.refusal == nil {
				assert.False(t, errors.As(err, &refused), "a 200 is not a refusal: %v", err)
				return
			}
			require.ErrorAs(t, err, &refused)
			assert.Equal(t, tc.refusal, refused)
			assert.Contains(t, err.Error(), fmt.Sprint(tc.refusal.StatusCode))
			for _, msgs := range tc.refusal.Fields {
				assert.Contains(t, err.Error(), msgs[0])
			}
			assert.Contains(t, err.Error(), tc.refusal.Detail)
		})
	}
}

func TestLoginTransportErrors(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select { // a server that stops answering
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	// The caller's context bounds the call.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := client.Login(ctx, nil, srv.URL, "alice", "secret")
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// So does the client's timeout.
	_, err = client.Login(context.Background(), &http.Client{Timeout: 50 * time.Millisecond}, srv.URL, "alice", "secret")
	require.Error(t, err)
	var ne interface{ Timeout() bool }
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())

	_, err = client.Login(context.Background(), nil, "://bad-url", "alice", "secret")
	assert.Error(t, err)
}

func TestNewClientTimeout(t *testing.T) {
	c := client.New("tka_x")
	assert.Equal(t, 30*time.Second, c.Timeout, "a server that stops answering must not hang its caller")
	tr, ok := c.Transport.(*client.Transport)
	require.True(t, ok)
	assert.Equal(t, "tka_x", tr.Token)
}

func TestNewClientRedirects(t *testing.T) {
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
	}))
	defer other.Close()
	var seen atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/here", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			seen.Store(r.Header.Get("Authorization"))
		}
	}))
	defer api.Close()
	c := client.New("tka_secret")

	resp, err := c.Get(api.URL + "/moved")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Token tka_secret", seen.Load(), "same-host redirects are followed")

	resp, err = c.Get(api.URL + "/away")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode, "a redirect to another host is returned, not followed")
	assert.Nil(t, leaked.Load())

	_, err = c.Get(api.URL + "/loop")
	assert.ErrorContains(t, err, "stopped after 10 redirects")

	// An HTTPS API that redirects to plain HTTP on the same host.
	first, _ := http.NewRequest(http.MethodGet, "https://api.example.com/a", nil)
	next := &http.Request{URL: &url.URL{Scheme: "http", Host: "api.example.com", Path: "/b"}}
	assert.ErrorIs(t, c.CheckRedirect(next, []*http.Request{first}), http.ErrUseLastResponse)
	next.URL.Scheme, next.URL.Host = "https", "API.example.com"
	assert.NoError(t, c.CheckRedirect(next, []*http.Request{first}))
}
