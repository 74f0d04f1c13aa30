package demoapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// backends are the databases the users table is tested on: SQLite always,
// PostgreSQL and MariaDB when their DSNs are set.
var backends = []struct{ name, env, example string }{
	{name: "sqlite"},
	{name: "postgres", env: "TOKENAUTH_TEST_POSTGRES_DSN", example: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
	{name: "mysql", env: "TOKENAUTH_TEST_MYSQL_DSN", example: "root@tcp(127.0.0.1:3306)/test?parseTime=true"},
}

// newTestUsers returns a migrated users table of a fresh name, dropped at
// the end of the test, on the named backend; it skips t when the
// backend's DSN is not set.
func newTestUsers(t *testing.T, name, env, example string) *Users {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "users.db")
	if env != "" {
		if dsn = os.Getenv(env); dsn == "" {
			t.Skipf("%s tests skipped: set %s to a test database's DSN, e.g. %s", name, env, example)
		}
	}
	_, _, dialect, err := sqlstore.ParseDSN(dsn)
	require.NoError(t, err)
	db, _, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	require.NoError(t, err)
	var b [6]byte
	_, _ = rand.Read(b[:])
	table := "demo_users_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		_, err := db.Exec("DROP TABLE IF EXISTS " + table)
		assert.NoError(t, err)
		db.Close()
	})
	users, err := NewUsers(db, dialect, table)
	require.NoError(t, err)
	require.NoError(t, users.Migrate(context.Background()))
	require.NoError(t, users.Migrate(context.Background()), "Migrate is idempotent")
	return users
}

func TestUsers(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			users := newTestUsers(t, b.name, b.env, b.example)

			alice, err := users.Create(ctx, "alice", "alice-secret", true)
			require.NoError(t, err)
			bob, err := users.Create(ctx, "bob", "bob-secret", false)
			require.NoError(t, err)
			assert.NotEqual(t, alice.ID, bob.ID)
			_, err = users.Create(ctx, "alice", "other-secret", true)
			assert.ErrorIs(t, err, ErrUsernameTaken)
			upper, err := users.Create(ctx, "Alice", "alice-secret", true)
			require.NoError(t, err, "usernames are case-sensitive on every dialect")

			checks := []struct {
				name, username, password string
				id                       string // empty: refused
			}{
				{"right password", "alice", "alice-secret", alice.ID},
				{"other case", "Alice", "alice-secret", upper.ID},
				{"wrong password", "alice", "alice-secret!", ""},
				{"unknown user", "carol", "alice-secret", ""},
				{"inactive user", "bob", "bob-secret", ""},
				{"over bcrypt's limit", "alice", string(make([]byte, 100)), ""},
			}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) {
					id, err := users.CheckCredentials(ctx, c.username, c.password)
					if c.id == "" {
						assert.ErrorIs(t, err, login.ErrBadCredentials)
						return
					}
					require.NoError(t, err)
					assert.Equal(t, c.id, id)
				})
			}

			u, err := users.Load(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, alice, u)
			_, err = users.Load(ctx, bob.ID)
			assert.ErrorIs(t, err, tokenauth.ErrUserInactive)
			for _, id := range []string{"999999", "alice", "", "1e3"} {
				_, err = users.Load(ctx, id)
				assert.ErrorIs(t, err, tokenauth.ErrNotFound, "user ID %q", id)
			}

			require.NoError(t, users.Delete(ctx, alice.ID))
			_, err = users.Load(ctx, alice.ID)
			assert.ErrorIs(t, err, tokenauth.ErrNotFound)
			assert.NoError(t, users.Delete(ctx, alice.ID), "deleting a missing user is not an error")
			assert.NoError(t, users.Delete(ctx, "not-a-number"))
		})
	}
}

func TestValidTable(t *testing.T) {
	tests := map[string]bool{
		"demo_users": true, "users2": true, "_users": true,
		"": false, "Users": false, "1users": false, "users;drop": false, "user-s": false, "ü": false,
	}
	for name, want := range tests {
		assert.Equal(t, want, validTable(name), "%q", name)
	}
}

func TestMain(m *testing.M) {
	// Behaviour, not hashing strength, is under test; see BcryptCost.
	BcryptCost = bcrypt.MinCost
	os.Exit(m.Run())
}
