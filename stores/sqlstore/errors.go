package sqlstore

import (
	"errors"
	"strings"
)

// isUniqueViolation reports whether err is the database refusing a
// duplicate primary key or digest. The package imports no driver, so it
// looks for methods the drivers' error types have and falls back on their
// messages:
//
//   - PostgreSQL: SQLSTATE 23505, from SQLState() (pgx, lib/pq) or pgx's
//     "(SQLSTATE 23505)" suffix;
//   - MySQL and MariaDB: error 1062 (ER_DUP_ENTRY), which
//     github.com/go-sql-driver/mysql reports as "Error 1062 (23000): …";
//   - SQLite: extended codes 1555 (SQLITE_CONSTRAINT_PRIMARYKEY) and 2067
//     (SQLITE_CONSTRAINT_UNIQUE), from Code() (modernc.org/sqlite) or the
//     "UNIQUE constraint failed" message every SQLite driver passes on.
func (s *Store) isUniqueViolation(err error) bool {
	msg := err.Error()
	switch s.dialect {
	case Postgres:
		return sqlState(err) == "23505"
	case MySQL:
		return strings.Contains(msg, "Error 1062") || strings.Contains(msg, "Duplicate entry")
	case SQLite:
		var e interface{ Code() int }
		if errors.As(err, &e) {
			if c := e.Code(); c == 1555 || c == 2067 {
				return true
			}
		}
		return strings.Contains(msg, "UNIQUE constraint failed")
	}
	return false
}

// sqlState returns PostgreSQL's SQLSTATE code of err, from its SQLState
// method (pgx, lib/pq) or pgx's "(SQLSTATE xxxxx)" suffix, or "".
func sqlState(err error) string {
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		return e.SQLState()
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "(SQLSTATE "); i >= 0 && len(msg) >= i+16 && msg[i+15] == ')' {
		return msg[i+10 : i+15]
	}
	return ""
}
