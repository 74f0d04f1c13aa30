package pglisten

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

// A server that rejects LISTEN or NOTIFY as not supported (SQLSTATE
// 0A000, as CockroachDB does) gets the same error as a pooler that never
// delivers; any other failure stays an outage.
func TestUnsupported(t *testing.T) {
	for _, tc := range []struct {
		err         error
		unsupported bool
	}{
		{&pgconn.PgError{Code: "0A000", Message: "unimplemented: LISTEN"}, true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "0A000"}), true},
		{&pgconn.PgError{Code: "42501", Message: "permission denied"}, false},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, false},
		{errors.New("unexpected EOF"), false},
	} {
		err := unsupported(tc.err)
		assert.ErrorIs(t, err, tc.err)
		assert.Equal(t, tc.unsupported, errors.Is(err, errors.ErrUnsupported), "%v", tc.err)
		if tc.unsupported {
			assert.Contains(t, err.Error(), "session-mode connection for the listener")
		}
	}
}
