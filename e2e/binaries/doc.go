// Package binaries holds tests that build the example programs of
// ../examples and run them as a user does: each server from a fresh
// directory, on its default SQLite file, answering its demo user's login
// and protected route, stopping with exit status 0 on SIGINT, and exiting
// 0, 2 and 1 for -h, a bad flag and a taken address; and the client
// against the quickstart. It has no code of its own.
package binaries
