package secretscan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// Leak is what OnLeak learns of a token found in public and revoked.
type Leak struct {
	// Token is the record of the revoked token, as it was (read-only).
	Token *tokenauth.Token
	// Found lists every place the report named, in its order.
	Found []Location
}

// Location is where GitHub found a token: the name of the pattern that
// matched, the public URL (which may be empty) and the kind of place
// ("content", "commit", "issue_comment", …).
type Location struct {
	Type, URL, Source string
}

const (
	// parallelism is how many tokens of a report are checked and revoked
	// at once. Each costs a store lookup and a delete: with 16 at a time,
	// 1,000 matches take about 0.7 s against a store answering in 5 ms
	// (TestBatch), against 10 s one by one, and most of a database's
	// connection pool stays free for the service's own traffic.
	parallelism = 16
	// budget is how long a report may take: GitHub waits 30 seconds. Past
	// it the report gets 503, and GitHub sends it again.
	budget = 25 * time.Second
)

// item is one distinct token of a report.
type item struct {
	token string
	sum   [sha256.Size]byte
	found []Location
	label string
}

// revoke checks each distinct token of matches and revokes the live ones,
// several at once. It returns GitHub's feedback, one entry per distinct
// token and type in the report's order, or an error wrapping
// tokenauth.ErrUnavailable when the store could not answer for every
// token; tokens revoked by then stay revoked.
func (h *Handler) revoke(ctx context.Context, matches []match) ([]feedback, error) {
	index := make(map[string]*item, len(matches))
	items := make([]*item, 0, len(matches))
	for _, m := range matches {
		it, ok := index[m.Token]
		if !ok {
			it = &item{token: m.Token, sum: sha256.Sum256([]byte(m.Token))}
			index[m.Token] = it
			items = append(items, it)
		}
		it.found = append(it.found, Location{Type: m.Type, URL: m.URL, Source: m.Source})
	}

	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		failOnce sync.Once
		failure  error
	)
	for range min(parallelism, len(items)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(items) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				var err error
				if items[i].label, err = h.check(ctx, items[i]); err != nil {
					failOnce.Do(func() { failure = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if failure == nil && ctx.Err() != nil {
		failure = fmt.Errorf("%w: %w", tokenauth.ErrUnavailable, ctx.Err())
	}
	if failure != nil {
		return nil, failure
	}

	answer := make([]feedback, 0, len(items))
	seen := make(map[[2]string]bool, len(matches))
	for _, m := range matches {
		if k := [2]string{m.Token, m.Type}; !seen[k] {
			seen[k] = true
			it := index[m.Token]
			answer = append(answer, feedback{TokenHash: hex.EncodeToString(it.sum[:]), TokenType: m.Type, Label: it.label})
		}
	}
	return answer, nil
}

// check labels one token, revoking it if it is stored. Any token the
// store knows is a true positive, expired or its user refused or not; an
// unknown one is a false positive, unless this Handler revoked it lately.
func (h *Handler) check(ctx context.Context, it *item) (string, error) {
	// One check of a token at a time: a second report of it (GitHub's
	// retry, sent while the first is still being answered) must not find
	// it gone before the first has remembered revoking it.
	done, err := h.revoked.begin(ctx, it.sum)
	if err != nil {
		return "", fmt.Errorf("%w: %w", tokenauth.ErrUnavailable, err)
	}
	defer done()
	tok, err := h.auth.RevokeKey(ctx, it.token)
	switch {
	case errors.Is(err, tokenauth.ErrUnavailable):
		return "", err
	case err != nil:
		// Unknown or malformed: nobody's token, unless this Handler
		// revoked it lately (a report that comes again).
		if h.revoked.has(it.sum) {
			return truePositive, nil
		}
		return falsePositive, nil
	}
	h.revoked.add(it.sum)
	h.opts.Logger.WarnContext(ctx, "secretscan: revoked a token found in public",
		"token_id", tok.ID, "url", it.found[0].URL, "source", it.found[0].Source, "matches", len(it.found))
	if h.opts.OnLeak != nil {
		h.opts.OnLeak(ctx, Leak{Token: tok, Found: it.found})
	}
	return truePositive, nil
}

// How many revoked tokens a Handler remembers, and for how long.
const (
	rememberMax = 10_000
	rememberFor = 24 * time.Hour
)

// revokedSet remembers, by their SHA-256, the tokens a Handler revoked,
// so that a report that comes again (GitHub retrying after a 503, or a
// replay) still labels them true_positive: the store keeps no trace of a
// revoked token. It is per process, and bounded: the oldest go first.
type revokedSet struct {
	now   func() time.Time
	mu    sync.Mutex
	at    map[[sha256.Size]byte]time.Time
	order [][sha256.Size]byte
	busy  map[[sha256.Size]byte]chan struct{} // tokens being checked, closed when done
}

// begin waits until no other check of the token is under way, or ctx
// ends, and marks one as under way until done is called.
func (s *revokedSet) begin(ctx context.Context, sum [sha256.Size]byte) (done func(), err error) {
	s.mu.Lock()
	for {
		wait, ok := s.busy[sum]
		if !ok {
			break
		}
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s.mu.Lock()
	}
	if s.busy == nil {
		s.busy = make(map[[sha256.Size]byte]chan struct{})
	}
	ch := make(chan struct{})
	s.busy[sum] = ch
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.busy, sum)
		s.mu.Unlock()
		close(ch)
	}, nil
}

func (s *revokedSet) add(sum [sha256.Size]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.at[sum]; !ok {
		if len(s.order) >= rememberMax {
			delete(s.at, s.order[0])
			s.order = s.order[1:]
		}
		s.order = append(s.order, sum)
	}
	s.at[sum] = s.now()
}

func (s *revokedSet) has(sum [sha256.Size]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.at[sum]
	return ok && s.now().Sub(at) < rememberFor
}
