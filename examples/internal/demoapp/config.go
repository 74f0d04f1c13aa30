package demoapp

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

// HMACKeyEnv names the environment variable that supplies -hmac-key, the
// same one the tokenauth CLI reads.
const HMACKeyEnv = "TOKENAUTH_HMAC_KEY"

// DefaultLoginLimit is the default of -login-limit.
const DefaultLoginLimit = 5

// Config is the command line shared by every example server.
type Config struct {
	// Name is the program's name, used in messages.
	Name string
	// Addr is the TCP address to listen on (-addr).
	Addr string
	// DB is the database: a SQLite file or a DSN that sqlstore.ParseDSN
	// accepts (-db).
	DB string
	// Cache, when positive, puts a cachestore with this TTL in front
	// of the database (-cache).
	Cache time.Duration
	// LoginLimit is how many failed logins one client address may make for
	// one username per minute; 0 turns throttling off (-login-limit). It
	// also bounds sign-ups per client address per minute.
	LoginLimit int
	// HMACKey, when set, makes token digests HMAC-SHA256 with this key
	// instead of SHA-256 (-hmac-key or $TOKENAUTH_HMAC_KEY, in hex).
	HMACKey []byte
	// DemoUsers creates the demo users alice and bob when they are missing
	// (-demo-users).
	DemoUsers bool
}

// ErrUsage is wrapped by ParseFlags's errors for a bad command line. The
// message and the usage text have already been printed.
var ErrUsage = errors.New("invalid command line")

// ParseFlags parses an example server's command line. Usage and errors go
// to out. It returns flag.ErrHelp for -h, and an error wrapping ErrUsage
// for a bad command line.
func ParseFlags(name string, args []string, out io.Writer) (Config, error) {
	cfg := Config{Name: name}
	var hmacKey string
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8000", "`address` to listen on")
	fs.StringVar(&cfg.DB, "db", name+".db",
		"the `database`: a SQLite file (PATH.db or sqlite:PATH, created on first start),\n"+
			"postgres://user:pass@host:5432/db or mysql://user:pass@host:3306/db")
	fs.DurationVar(&cfg.Cache, "cache", 0,
		"cache verified tokens in memory for this `duration` (e.g. 30s); a token revoked\n"+
			"by another process keeps working here for up to this long; 0 turns the cache off")
	fs.IntVar(&cfg.LoginLimit, "login-limit", DefaultLoginLimit,
		"`number` of failed logins allowed per minute for one client address and username\n"+
			"(sign-ups per minute for one address, too); 0 turns throttling off")
	fs.StringVar(&hmacKey, "hmac-key", "",
		"`hex` key of at least 32 bytes (openssl rand -hex 32): store HMAC-SHA256\n"+
			"token digests instead of SHA-256; prefer $"+HMACKeyEnv+", since command\n"+
			"lines are visible to other users of the machine")
	fs.BoolVar(&cfg.DemoUsers, "demo-users", true, "create the demo users alice and bob when they are missing")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s [flags]\n\nAn example tokenauth server. Flags:\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if hmacKey == "" {
		hmacKey = os.Getenv(HMACKeyEnv)
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q; every setting is a flag", fs.Arg(0)))
	}
	if cfg.Addr == "" {
		problems = append(problems, "-addr is empty; give host:port, as in 127.0.0.1:8000")
	}
	if cfg.DB == "" {
		problems = append(problems, "-db is empty; give a SQLite file such as app.db, or a postgres:// or mysql:// DSN")
	}
	if cfg.Cache < 0 {
		problems = append(problems, "-cache must not be negative; use 0 to turn the cache off")
	}
	if cfg.LoginLimit < 0 {
		problems = append(problems, "-login-limit must not be negative; use 0 to turn throttling off")
	}
	if hmacKey != "" {
		key, err := ParseHMACKey(hmacKey)
		if err != nil {
			problems = append(problems, err.Error())
		}
		cfg.HMACKey = key
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(out, "%s: %s\n", name, p)
		}
		fmt.Fprintf(out, "Run %s -h for help.\n", name)
		return Config{}, fmt.Errorf("%w: %s", ErrUsage, strings.Join(problems, "; "))
	}
	return cfg, nil
}

// ParseHMACKey decodes a hex-encoded HMAC key of at least
// tokenauth.MinHMACKeyLen bytes. Its errors never quote the key.
func ParseHMACKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(s))
	switch {
	case err != nil:
		return nil, fmt.Errorf("the HMAC key must be hex-encoded; generate one with: openssl rand -hex %d", tokenauth.MinHMACKeyLen)
	case len(key) < tokenauth.MinHMACKeyLen:
		return nil, fmt.Errorf("the HMAC key is %d bytes, need at least %d; generate one with: openssl rand -hex %d",
			len(key), tokenauth.MinHMACKeyLen, tokenauth.MinHMACKeyLen)
	}
	return key, nil
}
