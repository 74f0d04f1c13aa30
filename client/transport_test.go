package client_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/client"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// closeRecorder is a request body that records whether it was closed.
type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error {
	c.closed.Store(true)
	return nil
}

func TestTransportSetsHeader(t *testing.T) {
	cases := []struct {
		name    string
		keyword string
		want    string
	}{
		{"default keyword", "", "Token tka_abc"},
		{"bearer", "Bearer", "Bearer tka_abc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got *http.Request
			tr := &client.Transport{Token: "tka_abc", Keyword: c.keyword, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				got = r
				return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
			})}
			req, err := http.NewRequest(http.MethodPost, "https://api.example.com/orders", strings.NewReader("{}"))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Basic old")
			req.Header.Set("X-Other", "kept")

			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			resp.Body.Close()

			assert.Equal(t, c.want, got.Header.Get("Authorization"))
			assert.Equal(t, "kept", got.Header.Get("X-Other"))
			assert.NotSame(t, req, got, "the request is cloned")
			assert.Equal(t, "Basic old", req.Header.Get("Authorization"), "the caller's request is not modified")
			assert.Len(t, req.Header, 2)
		})
	}
}

func TestTransportNoToken(t *testing.T) {
	body := &closeRecorder{Reader: strings.NewReader("{}")}
	req, err := http.NewRequest(http.MethodPost, "https://api.example.com/", body)
	require.NoError(t, err)
	called := false
	tr := &client.Transport{Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		called = true
		return nil, errors.New("unreachable")
	})}
	resp, err := tr.RoundTrip(req)
	assert.Nil(t, resp)
	assert.EqualError(t, err, "tokenauth: Transport has no token")
	assert.False(t, called)
	assert.True(t, body.closed.Load(), "a RoundTripper closes the body, even on error")
}

// Against a real server protected by Require, with the default base
// transport.
func TestTransportEndToEnd(t *testing.T) {
	auth, _ := tokenauthtest.New(t, tokenauth.Options{})
	key := tokenauthtest.Issue(t, auth, "42")
	srv := httptest.NewServer(auth.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := tokenauth.FromContext(r.Context())
		_, _ = io.WriteString(w, tok.UserID)
	})))
	defer srv.Close()

	for name, c := range map[string]*http.Client{
		"New":                   client.New(key),
		"Transport in a Client": {Transport: &client.Transport{Token: key}},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := c.Get(srv.URL)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "42", string(body))
		})
	}

	resp, err := client.New("tka_wrong").Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}
