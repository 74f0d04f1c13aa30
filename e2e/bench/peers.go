package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/jwtauth/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
)

// The peers: how a Go service authenticates without tokenauth. Each is
// written as a user of its library would write it, with no tuning that
// tokenauth's modes do not get either.

// echoKeyAuth is echo's KeyAuth with a map of plaintext keys: what the
// nearest Go peer of tokenauth looks like in a service.
func echoKeyAuth(ctx context.Context, cfg Config) (http.Handler, []string, error) {
	var mu sync.Mutex
	valid := make(map[string]bool, cfg.Tokens)
	keys, err := seed(ctx, cfg.Tokens, cfg.Sample, runtime.GOMAXPROCS(0), func(context.Context, int) (string, error) {
		key, err := newKey()
		if err == nil {
			mu.Lock()
			valid[key] = true
			mu.Unlock()
		}
		return key, err
	})
	if err != nil {
		return nil, nil, err
	}
	e := newEcho()
	e.GET(Path, okEcho, echomw.KeyAuthWithConfig(echomw.KeyAuthConfig{
		AuthScheme: "Token",
		Validator:  func(key string, _ echo.Context) (bool, error) { return valid[key], nil },
	}))
	return e, keys, nil
}

// jwtTTL is the lifetime of the JWTs jwtauth's mode issues: long enough
// for any run, and checked on every request as a real service would.
const jwtTTL = 24 * time.Hour

// newJWTAuth returns a jwtauth signer and verifier with a random HS256
// secret of 256 bits.
func newJWTAuth() (*jwtauth.JWTAuth, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return jwtauth.New("HS256", secret, nil), nil
}

// signJWT returns a JWT for user i as a login endpoint would issue it:
// subject, issue time and expiry.
func signJWT(ja *jwtauth.JWTAuth, i int) (string, error) {
	now := time.Now()
	_, s, err := ja.Encode(map[string]any{
		"sub": "user-" + strconv.Itoa(i),
		"iat": now.Unix(),
		"exp": now.Add(jwtTTL).Unix(),
	})
	return s, err
}

// jwtAuth is go-chi/jwtauth's Verifier and Authenticator over HS256 JWTs.
// A JWT is stateless: nothing is kept per token, so only the sample of
// keys is signed, whatever cfg.Tokens says.
func jwtAuth(ctx context.Context, cfg Config) (http.Handler, []string, error) {
	ja, err := newJWTAuth()
	if err != nil {
		return nil, nil, err
	}
	keys, err := seed(ctx, cfg.Sample, cfg.Sample, runtime.GOMAXPROCS(0), func(_ context.Context, i int) (string, error) {
		return signJWT(ja, i)
	})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(http.HandlerFunc(okHandler))))
	return mux, keys, nil
}

// buildPgxSelect seeds the table as the postgres mode does, through
// tokenauth, then serves a handler that looks each key up itself: the
// SHA-256 of the key, one SELECT on the unique digest index through a
// pgxpool (pgx's native interface, no database/sql), and the expiry check
// any token lookup needs. 401 when no row matches or the token expired.
func (s *Server) buildPgxSelect(ctx context.Context, cfg Config) error {
	st, err := s.openPostgres(ctx, cfg)
	if err != nil {
		return err
	}
	if err := s.seedTokenauth(ctx, cfg, st); err != nil {
		return err
	}
	pc, err := pgxpool.ParseConfig(cfg.PostgresDSN)
	if err != nil {
		return errors.New("bench: malformed PostgreSQL DSN")
	}
	pc.MaxConns, pc.MinConns = dbPoolSize, dbPoolSize
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return err
	}
	s.onClose(func() error { pool.Close(); return nil })
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("bench: connecting to PostgreSQL: %w", err)
	}
	query := "SELECT user_id, expires_at FROM " + st.table + " WHERE digest = $1"
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token ")
		if !ok || key == "" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		digest := sha256.Sum256([]byte(key))
		var userID string
		var expires pgtype.Timestamptz
		err := pool.QueryRow(r.Context(), query, digest[:]).Scan(&userID, &expires)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		case err != nil:
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		case expires.Valid && !time.Now().Before(expires.Time):
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		okHandler(w, r)
	})
	s.Handler = mux
	return nil
}
