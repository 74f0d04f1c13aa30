package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clientTimeout bounds a whole request of a client made here: a server
// that stops answering must not hang its caller forever.
const clientTimeout = 30 * time.Second

// New returns an http.Client that authenticates every request with
// token, the one-line way to call an API protected by tokenauth:
//
//	resp, err := client.New(key).Get("https://api.example.com/orders")
//
// Each request, redirects and body included, must finish within 30
// seconds; set the client's Timeout to change that. The client follows
// redirects only to the same scheme and host, so that the token is never
// sent to another server or over plain HTTP after a redirect from HTTPS;
// any other redirect response is returned as it is.
func New(token string) *http.Client {
	return &http.Client{
		Transport:     &Transport{Token: token},
		CheckRedirect: sameOriginRedirects,
		Timeout:       clientTimeout,
	}
}

// sameOriginRedirects follows up to 10 redirects, as http.Client does by
// default, and none that leaves the first request's scheme and host.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("tokenauth: stopped after 10 redirects")
	}
	if first := via[0].URL; req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return http.ErrUseLastResponse
	}
	return nil
}

// LoginError is a login refused by the server: Django REST Framework's
// field errors and detail, as a Go client needs them.
type LoginError struct {
	// StatusCode is the HTTP status: 400 for bad credentials or missing
	// fields, 429 when throttled, 503 during an outage.
	StatusCode int
	// Fields holds field errors by field name: "username", "password",
	// and "non_field_errors" for "Unable to log in with provided
	// credentials."
	Fields map[string][]string
	// Detail is the {"detail": ...} message, if any.
	Detail string
	// RetryAfter is how long the server asked the client to wait (429,
	// 503); zero if it did not say.
	RetryAfter time.Duration
}

func (e *LoginError) Error() string {
	msg := e.Detail
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if msg != "" {
			msg += "; "
		}
		if k != "non_field_errors" {
			msg += k + ": "
		}
		msg += strings.Join(e.Fields[k], " ")
	}
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("tokenauth: login refused (%d): %s", e.StatusCode, msg)
}

// maxLoginResponse bounds what Login reads of an answer.
const maxLoginResponse = 64 << 10

// Login trades a username and password for a token at a login endpoint of
// tokenauth or Django REST Framework (obtain_auth_token), the client side
// of the login handler:
//
//	key, err := client.Login(ctx, nil, "https://api.example.com/api-token-auth/", "alice", password)
//	var refused *client.LoginError
//	if errors.As(err, &refused) && refused.StatusCode == http.StatusTooManyRequests { ... }
//
// A nil client means one with a 30-second timeout that, like New's,
// follows no redirect to another scheme or host, where the password would
// go too. A refusal is a *LoginError; other errors are the transport's.
func Login(ctx context.Context, client *http.Client, url, username, password string) (string, error) {
	if client == nil {
		client = &http.Client{Timeout: clientTimeout, CheckRedirect: sameOriginRedirects}
	}
	body, err := json.Marshal(map[string]string{"username": username, "password": password})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxLoginResponse))
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(data, &ok); err != nil || ok.Token == "" {
			return "", errors.New("tokenauth: login answered 200 without a token")
		}
		return ok.Token, nil
	}
	return "", loginError(resp, data)
}

// loginError reads a refusal's body: {"detail": ...} or field errors.
func loginError(resp *http.Response, data []byte) *LoginError {
	e := &LoginError{StatusCode: resp.StatusCode}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return e
	}
	for name, raw := range fields {
		var one string
		var many []string
		switch {
		case name == "detail" && json.Unmarshal(raw, &one) == nil:
			e.Detail = one
		case json.Unmarshal(raw, &many) == nil:
			if e.Fields == nil {
				e.Fields = make(map[string][]string)
			}
			e.Fields[name] = many
		}
	}
	return e
}
