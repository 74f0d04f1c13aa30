package secretscan

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// How often the key list is fetched.
const (
	// refreshEvery: the list is checked again this long after a
	// successful fetch, with a conditional request.
	refreshEvery = time.Hour
	// retryEvery: after a failed fetch, or a fetch made for an unknown
	// key ID, no other is made for this long, so that requests signed
	// with made-up key IDs cannot make us hammer GitHub.
	retryEvery = time.Minute
	// fetchTimeout bounds one fetch.
	fetchTimeout = 10 * time.Second
	// maxKeyListBytes bounds the list: GitHub's is about a kilobyte.
	maxKeyListBytes = 1 << 20
)

var (
	errUnknownKey = errors.New("secretscan: unknown signing key")
	// errNoKeys: the key list has never been fetched successfully, so no
	// report can be checked; GitHub is asked to retry.
	errNoKeys = errors.New("secretscan: GitHub's key list is unavailable")
)

// keyList is GitHub's list of the public keys that sign reports, fetched
// when first needed and kept fresh: checked every hour with If-None-Match
// (a 304 does not count against GitHub's rate limit), and fetched again
// for a key ID it does not hold, at most once a minute. A known key is
// used at once, while a due refresh runs in the background.
type keyList struct {
	url    string
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	keys     map[string]*ecdsa.PublicKey // nil until the first fetch succeeds
	etag     string
	next     time.Time     // when the list is due for a refresh
	nextMiss time.Time     // before this, an unknown ID fetches nothing
	fetching chan struct{} // closed when the fetch in flight ends
	fetches  int           // for tests
}

// key returns the key with the given ID, fetching the list first if it
// must. It returns errUnknownKey, or errNoKeys when the list has never
// been fetched.
func (l *keyList) key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	l.mu.Lock()
	now := l.now()
	k, known := l.keys[id]
	due := !now.Before(l.next)
	// An unknown ID waits for a fetch: one due anyway, one in flight, or
	// else one of its own if the last was a minute ago.
	wait := !known && (due || l.fetching != nil || l.keys != nil && !now.Before(l.nextMiss))
	if wait && !due && l.fetching == nil {
		l.nextMiss = now.Add(retryEvery)
	}
	var done chan struct{}
	if wait || due {
		done = l.fetch()
	}
	l.mu.Unlock()
	if known {
		return k, nil
	}
	if wait {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if k, ok := l.keys[id]; ok {
		return k, nil
	}
	if l.keys == nil {
		return nil, errNoKeys
	}
	return nil, errUnknownKey
}

// fetch starts a fetch unless one is in flight, and returns the channel
// closed when it ends. l.mu must be held.
func (l *keyList) fetch() chan struct{} {
	if l.fetching == nil {
		l.fetching = make(chan struct{})
		l.fetches++
		go l.run(l.fetching, l.etag)
	}
	return l.fetching
}

func (l *keyList) run(done chan struct{}, etag string) {
	keys, newTag, err := l.get(etag)
	l.mu.Lock()
	now := l.now()
	switch {
	case err != nil:
		l.next = now.Add(retryEvery)
		l.log.Warn("secretscan: fetching GitHub's signing keys failed", "url", l.url, "error", err)
	case keys != nil: // nil: not modified
		l.keys, l.etag = keys, newTag
		fallthrough
	default:
		l.next = now.Add(refreshEvery)
	}
	if l.keys == nil && err == nil {
		l.keys = map[string]*ecdsa.PublicKey{} // an empty list is a list
	}
	l.fetching = nil
	l.mu.Unlock()
	close(done)
}

// get fetches the list, conditionally on etag. It returns nil keys when
// the list has not changed.
func (l *keyList) get(etag string) (map[string]*ecdsa.PublicKey, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "application/json")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, etag, nil
	case http.StatusOK:
	default:
		return nil, "", fmt.Errorf("GitHub answered %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyListBytes+1))
	if err != nil {
		return nil, "", err
	}
	if len(data) > maxKeyListBytes {
		return nil, "", errors.New("the key list is too long")
	}
	keys, err := parseKeys(data)
	if err != nil {
		return nil, "", err
	}
	return keys, resp.Header.Get("ETag"), nil
}

// parseKeys reads GitHub's key list:
//
//	{"public_keys":[{"key_identifier":"…","key":"-----BEGIN PUBLIC KEY-----…","is_current":true}]}
//
// Every listed key verifies, current or not: GitHub lists a key before it
// signs with it and keeps it while reports it signed may be in flight.
// Keys that are not ECDSA P-256 are skipped.
func parseKeys(data []byte) (map[string]*ecdsa.PublicKey, error) {
	var list struct {
		PublicKeys []struct {
			ID  string `json:"key_identifier"`
			Key string `json:"key"`
		} `json:"public_keys"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("reading the key list: %w", err)
	}
	keys := make(map[string]*ecdsa.PublicKey, len(list.PublicKeys))
	for _, k := range list.PublicKeys {
		block, _ := pem.Decode([]byte(k.Key))
		if block == nil || k.ID == "" {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if ec, ok := pub.(*ecdsa.PublicKey); err == nil && ok && ec.Curve == elliptic.P256() {
			keys[k.ID] = ec
		}
	}
	return keys, nil
}
