package redisstore

import "time"

// SetWatchPing sets how long Watch waits before it pings, so that tests
// of a silent break need not wait seconds.
func SetWatchPing(s *Store, d time.Duration) { s.watchPing = d }

var DecodeEvent = decodeEvent
