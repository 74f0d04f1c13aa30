package sqlstore_test

import (
	"context"
	"database/sql/driver"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/stores/sqlstore"
)

// policyToken is a token with every policy field set, prefixes with host
// bits and an IPv4-mapped one included: they must read back as given.
func policyToken() *tokenauth.Token {
	return &tokenauth.Token{
		ID: "id-1", UserID: "user-1", Name: "ci", CreatedAt: t0, Digest: digest,
		Personal:    true,
		NotBefore:   t0.Add(time.Hour + 999).In(time.FixedZone("CET", 3600)),
		AllowedIPs:  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("10.1.2.3/8")},
		DeniedIPs:   []netip.Prefix{netip.MustParsePrefix("::ffff:10.1.0.0/112")},
		RateLimit:   100,
		RateWindow:  time.Minute + time.Nanosecond,
		CreatedFrom: "2001:db8::1",
		UserAgent:   `curl/8.5.0 — "quoted"`,
	}
}

const (
	allowedText = "10.0.0.0/8,2001:db8::/32,10.1.2.3/8"
	deniedText  = "::ffff:10.1.0.0/112"
	windowNanos = int64(time.Minute + time.Nanosecond)
)

// Create writes each policy field to its column; NotBefore as the other
// times are, the window in nanoseconds.
func TestCreateWritesThePolicy(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			s, mock := newMock(t, d)
			mock.ExpectExec(insertSQL[d]).
				WithArgs("id-1", "user-1", "ci", "[]", digest, at(d, t0), nil, nil, nil,
					true, at(d, t0.Add(time.Hour)), allowedText, deniedText, int64(100), windowNanos, "2001:db8::1", `curl/8.5.0 — "quoted"`).
				WillReturnResult(sqlmock.NewResult(0, 1))
			expectNoCutoff(mock, d, "user-1", t0)
			require.NoError(t, s.Create(context.Background(), policyToken()))
		})
	}
}

// Each dialect's and driver setting's representation of the policy
// columns reads back as the same token; NULLs as no policy.
func TestFindReadsThePolicy(t *testing.T) {
	want := policyToken()
	want.NotBefore = t0.Add(time.Hour)
	record := []driver.Value{"id-1", "user-1", "ci", "[]", digest, t0, nil, nil, nil}
	for _, tc := range []struct {
		name   string
		policy []driver.Value
	}{
		{"pgx", []driver.Value{true, t0.Add(time.Hour), allowedText, deniedText, int64(100), windowNanos, "2001:db8::1", want.UserAgent}},
		{"go-sql-driver, binary protocol", []driver.Value{int64(1), t0.Add(time.Hour), []byte(allowedText), []byte(deniedText),
			int64(100), windowNanos, []byte("2001:db8::1"), []byte(want.UserAgent)}},
		{"go-sql-driver, text protocol", []driver.Value{[]byte("1"), []byte("2026-03-14 16:09:26.535897"), []byte(allowedText), []byte(deniedText),
			[]byte("100"), []byte(strconv.FormatInt(windowNanos, 10)), []byte("2001:db8::1"), []byte(want.UserAgent)}},
		{"modernc sqlite", []driver.Value{int64(1), t0.Add(time.Hour).UnixMicro(), allowedText, deniedText, int64(100), windowNanos, "2001:db8::1", want.UserAgent}},
		{"prefixes written by hand, with spaces", []driver.Value{"true", t0.Add(time.Hour), " 10.0.0.0/8, 2001:db8::/32 ,10.1.2.3/8", deniedText,
			int64(100), windowNanos, "2001:db8::1", want.UserAgent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, mock := newMock(t, sqlstore.MySQL)
			mock.ExpectQuery("SELECT " + cols + " FROM `tokenauth_tokens` WHERE digest = ?").WithArgs(digest).
				WillReturnRows(tokenRow().AddRow(append(record, tc.policy...)...))
			got, err := s.Find(context.Background(), digest)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
	t.Run("NULLs and false: no policy", func(t *testing.T) {
		for _, personal := range []driver.Value{false, int64(0), []byte("0"), "f", nil} {
			s, mock := newMock(t, sqlstore.Postgres)
			mock.ExpectQuery(findPG).WithArgs(digest).WillReturnRows(tokenRow().
				AddRow(append(record, personal, nil, nil, nil, nil, nil, nil, nil)...))
			got, err := s.Find(context.Background(), digest)
			require.NoError(t, err)
			assert.Equal(t, &tokenauth.Token{ID: "id-1", UserID: "user-1", Name: "ci", CreatedAt: t0, Digest: digest}, got, "personal %#v", personal)
		}
	})
}

// A policy column that holds something else is an outage, not "not found"
// nor a token without policy, and the error does not quote it.
func TestFindRefusesAnUnreadablePolicy(t *testing.T) {
	record := []driver.Value{"id-1", "user-1", "ci", "[]", digest, t0, nil, nil, nil}
	for _, tc := range []struct {
		name   string
		policy []driver.Value
	}{
		{"a bad prefix", []driver.Value{false, nil, "10.0.0.0/8,secret-ish", nil, nil, nil, nil, nil}},
		{"an empty prefix", []driver.Value{false, nil, nil, "10.0.0.0/8,", nil, nil, nil, nil}},
		{"a rate that is no integer", []driver.Value{false, nil, nil, nil, []byte("secret-ish"), nil, nil, nil}},
		{"a float window", []driver.Value{false, nil, nil, nil, nil, 1.5, nil, nil}},
		{"a float personal", []driver.Value{1.5, nil, nil, nil, nil, nil, nil, nil}},
		{"a textual personal", []driver.Value{[]byte("secret-ish"), nil, nil, nil, nil, nil, nil, nil}},
		{"a numeric user agent", []driver.Value{false, nil, nil, nil, nil, nil, nil, int64(7)}},
		{"a textual not_before", []driver.Value{false, "secret-ish", nil, nil, nil, nil, nil, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, mock := newMock(t, sqlstore.Postgres)
			mock.ExpectQuery(findPG).WithArgs(digest).WillReturnRows(tokenRow().AddRow(append(record, tc.policy...)...))
			_, err := s.Find(context.Background(), digest)
			require.Error(t, err)
			assert.NotErrorIs(t, err, tokenauth.ErrNotFound)
			assert.NotContains(t, err.Error(), "secret-ish")
		})
	}
}

// List reads the policy as Find does.
func TestListReadsThePolicy(t *testing.T) {
	s, mock := newMock(t, sqlstore.SQLite)
	mock.ExpectQuery(`SELECT ` + cols + ` FROM "tokenauth_tokens" WHERE user_id = ? ORDER BY created_at, id`).WithArgs("user-1").
		WillReturnRows(tokenRow().
			AddRow("id-1", "user-1", "ci", "[]", digest, t0.UnixMicro(), nil, nil, nil,
				int64(1), t0.Add(time.Hour).UnixMicro(), allowedText, deniedText, int64(100), windowNanos, "2001:db8::1", `curl/8.5.0 — "quoted"`).
			AddRow(noPolicy("id-2", "user-1", "laptop", "[]", []byte{2}, t0.UnixMicro(), nil, nil, nil)...))
	got, err := s.List(context.Background(), "user-1")
	require.NoError(t, err)
	require.Len(t, got, 2)
	want := policyToken()
	want.NotBefore = t0.Add(time.Hour)
	assert.Equal(t, want, got[0])
	assert.False(t, got[1].Personal)
	assert.Nil(t, got[1].AllowedIPs)
	assert.Zero(t, got[1].RateLimit)
}
