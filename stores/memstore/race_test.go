//go:build race

package memstore_test

// raceEnabled skips the tests too slow under the race detector.
const raceEnabled = true
