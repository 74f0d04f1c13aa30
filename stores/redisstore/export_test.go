package redisstore

import "time"

// SetWatchPing sets how long Watch waits between an answer and its next
// ping, and for an answer, so that tests of a silent break need not wait
// seconds.
func SetWatchPing(s *Store, ping, timeout time.Duration) { s.watchPing, s.watchTimeout = ping, timeout }

var DecodeEvent = decodeEvent

var (
	HashTag         = hashTag
	IndexEntry      = indexEntry
	SplitIndexEntry = splitIndexEntry
)

var (
	DecodePolicy = decodePolicy
	EncodePolicy = encodePolicy
)
