package pglisten

import "time"

// SetTimeouts shortens Listen's bounds for a test and returns the function
// that restores them.
func SetTimeouts(connect, beat, ping time.Duration) (restore func()) {
	c, b, p := connectTimeout, heartbeat, pingTimeout
	connectTimeout, heartbeat, pingTimeout = connect, beat, ping
	return func() { connectTimeout, heartbeat, pingTimeout = c, b, p }
}
