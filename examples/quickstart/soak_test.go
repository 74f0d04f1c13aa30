package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth/examples/internal/demoapp"
	"github.com/go-tokenauth/tokenauth/examples/internal/demotest"
)

const (
	// soakDuration is how long the steady load runs.
	soakDuration = 60 * time.Second
	// soakWarmUp fills pools, caches and buffers before the baseline.
	soakWarmUp = 5 * time.Second
	// soakInterval paces the load: one request per interval, 400 a second,
	// modest enough to leave room for other tests under the race detector.
	soakInterval = 2500 * time.Microsecond
	soakWorkers  = 8
	// soakHeapSlack bounds the growth of the heap in use over the run,
	// and half of it over its second half. Leaking a hundred bytes per
	// request would exceed it several times over.
	soakHeapSlack = 4 << 20
	// soakGoroutineSlack bounds the goroutines left over once idle.
	soakGoroutineSlack = 3
)

// soaker drives the quickstart with a mix of requests at a steady pace.
type soaker struct {
	base   string
	alice  string
	client *http.Client
	login  string // a login body for carol

	sent, unexpected atomic.Int64
	mu               sync.Mutex
	firstProblem     string
}

// run sends requests for d, one per soakInterval, from soakWorkers
// goroutines.
func (s *soaker) run(d time.Duration) {
	tick := time.NewTicker(soakInterval)
	defer tick.Stop()
	work := make(chan int)
	var wg sync.WaitGroup
	for range soakWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				s.request(i)
			}
		}()
	}
	end := time.After(d)
	for i := 0; ; i++ {
		select {
		case <-tick.C:
			select {
			case work <- i:
			default: // every worker busy: skip a beat rather than queue up
			}
		case <-end:
			close(work)
			wg.Wait()
			return
		}
	}
}

// request sends the i-th request of the mix: mostly a valid key, some bad
// keys and anonymous calls, and now and then a login followed by a logout.
func (s *soaker) request(i int) {
	switch i % 10 {
	case 7:
		s.expect(http.StatusUnauthorized, "GET", "/api/public/", "tka_bad", "")
	case 8:
		s.expect(http.StatusOK, "GET", "/api/public/", "", "")
	case 9:
		if i%50 != 9 {
			s.expect(http.StatusUnauthorized, "GET", "/api/protected/", s.alice[:len(s.alice)-1], "")
			return
		}
		var login struct{ Token string }
		if json.Unmarshal([]byte(s.expect(http.StatusOK, "POST", "/api-token-auth/", "", s.login)), &login) == nil {
			s.expect(http.StatusNoContent, "POST", "/api/logout/", login.Token, "")
		}
	default:
		s.expect(http.StatusOK, "GET", "/api/protected/", s.alice, "")
	}
}

func (s *soaker) expect(status int, method, path, key, body string) string {
	s.sent.Add(1)
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.problem(err.Error())
		return ""
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if key != "" {
		req.Header.Set("Authorization", "Token "+key)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.problem(err.Error())
		return ""
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		s.problem(err.Error())
	case resp.StatusCode != status:
		s.problem(fmt.Sprintf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, raw))
	}
	return string(raw)
}

func (s *soaker) problem(msg string) {
	if s.unexpected.Add(1) == 1 {
		s.mu.Lock()
		s.firstProblem = msg
		s.mu.Unlock()
	}
}

// idle closes the client's connections, checks and drops the server's
// logs so far, waits for the goroutine count to settle (at most 5 s),
// collects garbage and returns the heap in use and the goroutine count.
// The server runs in this process, so both are the server's and the
// test's together; only their growth matters.
func (s *soaker) idle(t *testing.T, srv *demotest.Server) (heapInuse uint64, goroutines int) {
	t.Helper()
	s.client.CloseIdleConnections()
	logs := srv.TakeOutput()
	assert.NotContains(t, logs, "panic")
	assert.NotRegexp(t, `status=5\d\d`, logs)
	deadline := time.Now().Add(5 * time.Second)
	for last, same := -1, 0; same < 10 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if n := runtime.NumGoroutine(); n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, runtime.NumGoroutine()
}

// TestSoak runs the quickstart at a steady 400 requests a second for a
// minute, a mix of valid, bad and missing keys, logins and logouts, and
// checks that every answer is the expected one and that neither the heap
// in use nor the number of goroutines grows.
func TestSoak(t *testing.T) {
	if os.Getenv("TOKENAUTH_SOAK") == "" {
		t.Skip("the soak test runs for over a minute: set TOKENAUTH_SOAK=1 to run it (bash .ci/run does)")
	}
	t.Setenv(demoapp.HMACKeyEnv, "")
	srv := demotest.Start(t, run, filepath.Join(t.TempDir(), "soak.db"))
	require.NotEmpty(t, srv.AliceToken)
	r := srv.Request(t, http.MethodPost, "/api/signup/", "", "username=carol&password=carol-soak-pw")
	require.Equal(t, http.StatusCreated, r.Status)
	s := &soaker{
		base:   srv.URL,
		alice:  srv.AliceToken,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: soakWorkers}},
		login:  url.Values{"username": {"carol"}, "password": {"carol-soak-pw"}}.Encode(),
	}

	s.run(soakWarmUp)
	heap0, g0 := s.idle(t, srv)
	warmUp := s.sent.Load()
	start := time.Now()
	s.run(soakDuration / 2)
	heapMid, _ := s.idle(t, srv)
	s.run(soakDuration / 2)
	took := time.Since(start)
	heap1, g1 := s.idle(t, srv)
	sent := s.sent.Load() - warmUp

	const mib = 1 << 20
	t.Logf("%d requests in %s (%.0f/s); heap in use %.1f MiB at the start, %.1f MiB half-way, %.1f MiB at the end; goroutines %d at the start, %d at the end",
		sent, took.Round(time.Second), float64(sent)/took.Seconds(),
		float64(heap0)/mib, float64(heapMid)/mib, float64(heap1)/mib, g0, g1)
	assert.Zero(t, s.unexpected.Load(), "unexpected answers; the first: %s", s.firstProblem)
	assert.Greater(t, sent, int64(soakDuration/soakInterval)/4, "the load ran at less than a quarter of its pace")
	assert.LessOrEqual(t, heap1, heap0+soakHeapSlack, "the heap in use grew over the run")
	assert.LessOrEqual(t, heap1, heapMid+soakHeapSlack/2, "the heap in use grew over the second half")
	assert.LessOrEqual(t, g1, g0+soakGoroutineSlack, "goroutines left over")
}
