package bench

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// Check asks the server of mode m at baseURL (scheme and host) whether it
// answers as the comparison needs: Body as application/json with status
// 200 for key, m.NoCredentialsStatus() without credentials, and 401 for a
// well-formed key it never issued (200 where m does not authenticate):
// for jwtauth, a JWT signed with another secret. Keys are sent after
// m.Scheme(). Errors never quote a key.
func Check(ctx context.Context, client *http.Client, baseURL string, m Mode, key string) error {
	unknown, err := unknownKey(m)
	if err != nil {
		return err
	}
	refused := http.StatusUnauthorized
	if !m.Authenticates() {
		refused = http.StatusOK
	}
	for _, c := range []struct {
		what   string
		header string
		status int
	}{
		{"a valid token", m.Scheme() + " " + key, http.StatusOK},
		{"no credentials", "", m.NoCredentialsStatus()},
		{"an unknown token", m.Scheme() + " " + unknown, refused},
	} {
		if err := checkOne(ctx, client, baseURL+Path, c.header, c.status); err != nil {
			return fmt.Errorf("bench: %s: GET %s with %s: %w", m, Path, c.what, err)
		}
	}
	return nil
}

// unknownKey returns a well-formed key that m's server never issued.
func unknownKey(m Mode) (string, error) {
	if m != JWTAuth {
		return newKey()
	}
	other, err := newJWTAuth()
	if err != nil {
		return "", err
	}
	return signJWT(other, 0)
}

func checkOne(ctx context.Context, client *http.Client, url, authorization string, status int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return err
	}
	if resp.StatusCode != status {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, status)
	}
	if status != http.StatusOK {
		return nil
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", resp.Header.Get("Content-Type"))
	}
	if string(b) != Body {
		return fmt.Errorf("body %q, want %q", b, Body)
	}
	return nil
}
