// Package integration tests sqlstore against real drivers and servers:
// SQLite always, PostgreSQL and MySQL/MariaDB when TOKENAUTH_TEST_POSTGRES_DSN
// and TOKENAUTH_TEST_MYSQL_DSN name test databases (skipped, saying so,
// otherwise).
//
// It is its own module so that the drivers only these tests import stay out
// of sqlstore's go.mod: a host keeps the driver versions (and the Go
// version) it chose. Nothing here is published for import.
package integration
