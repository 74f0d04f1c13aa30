// Package keyformat is the string form of tokenauth's keys:
// "<prefix>_<body><checksum>", where the body is 32 bytes from crypto/rand
// in fixed-width base62 and the checksum the CRC32 of prefix and body in
// six base62 characters (the scheme GitHub's tokens use), so that a typo
// or a random string is refused before any store is asked and secret
// scanners can find a leaked key by its prefix. A keyed Sum replaces the
// CRC32 where the host has a server key, so that keys forged without it
// are refused too. It also recognises the
// keys other services issued: Django REST Framework's and UUIDs.
package keyformat

import (
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"unsafe"
)

const (
	// DefaultPrefix is the token prefix used when Options.Prefix is empty.
	DefaultPrefix = "tka"
	// MaxPrefixLen bounds Options.Prefix.
	MaxPrefixLen = 16

	secretBytes = 32
	// bodyLen is the fixed base62 width of 32 random bytes: 62^43 > 2^256.
	bodyLen = 43
	// checksumLen is the fixed base62 width of a CRC32: 62^6 > 2^32.
	checksumLen = 6
	// legacyKeyLen is the length of a DRF key: 20 random bytes in hex.
	legacyKeyLen = 40

	base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

var (
	big62 = big.NewInt(62)
	// randReader is crypto/rand's Reader; tests replace it to simulate
	// a failing source.
	randReader io.Reader = rand.Reader
)

// ValidPrefix reports whether p can serve as a token prefix: 1 to 16
// ASCII letters or digits. The underscore is reserved as the separator.
func ValidPrefix(p string) bool {
	if len(p) == 0 || len(p) > MaxPrefixLen {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !isAlnum(p[i]) {
			return false
		}
	}
	return true
}

// alnum marks the base62 alphabet, for a branch-free check per byte.
var alnum = func() (t [256]bool) {
	for i := 0; i < len(base62Alphabet); i++ {
		t[base62Alphabet[i]] = true
	}
	return t
}()

func isAlnum(c byte) bool { return alnum[c] }

// Sum computes a key's 32-bit checksum from its prefix and body. Nil means
// the CRC32 (IEEE), which anyone can compute.
type Sum func(prefix, body string) uint32

// Generate returns a new token string with the given valid prefix: the
// prefix, an underscore, 32 bytes from crypto/rand in fixed-width base62,
// and a 6-character base62 checksum of prefix and body.
func Generate(prefix string, sum Sum) (string, error) {
	var secret [secretBytes]byte
	if _, err := io.ReadFull(randReader, secret[:]); err != nil {
		return "", fmt.Errorf("tokenauth: reading random bytes: %w", err)
	}
	buf := make([]byte, 0, len(prefix)+1+bodyLen+checksumLen)
	buf = append(buf, prefix...)
	buf = append(buf, '_')
	buf = appendBase62(buf, new(big.Int).SetBytes(secret[:]), bodyLen)
	check := sum.of(prefix, string(buf[len(prefix)+1:]))
	buf = appendBase62(buf, new(big.Int).SetUint64(uint64(check)), checksumLen)
	return string(buf), nil
}

// NewID returns a random public token identifier: 16 bytes from
// crypto/rand in fixed-width base62 (22 characters).
func NewID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(randReader, b[:]); err != nil {
		return "", fmt.Errorf("tokenauth: reading random bytes: %w", err)
	}
	return string(appendBase62(nil, new(big.Int).SetBytes(b[:]), 22)), nil
}

// appendBase62 appends n in base62, left-padded with '0' to width digits.
func appendBase62(dst []byte, n *big.Int, width int) []byte {
	digits := make([]byte, width)
	var mod big.Int
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, big62, &mod)
		digits[i] = base62Alphabet[mod.Int64()]
	}
	return append(dst, digits...)
}

func (s Sum) of(prefix, body string) uint32 {
	if s == nil {
		return checksum(prefix, body)
	}
	return s(prefix, body)
}

// checksum is the CRC32 (IEEE) of prefix followed by body. The strings are
// viewed as byte slices without copying, so that crc32's hardware path runs
// and nothing is allocated; crc32 only reads them. []byte conversions
// would allocate both: the input escapes through crc32's dispatch. Kept by
// the A/B of e2e/bench/README.md for the 3 allocations a request:
// without it BenchmarkMiddleware takes 5, and 54 to 73 ns/op more (92 to
// 152 without digestAppender too).
func checksum(prefix, body string) uint32 {
	crc := crc32.Update(0, crc32.IEEETable, unsafe.Slice(unsafe.StringData(prefix), len(prefix)))
	return crc32.Update(crc, crc32.IEEETable, unsafe.Slice(unsafe.StringData(body), len(body)))
}

// encodeChecksum writes sum as checksumLen base62 digits into dst.
func encodeChecksum(dst *[checksumLen]byte, sum uint32) {
	for i := checksumLen - 1; i >= 0; i-- {
		dst[i] = base62Alphabet[sum%62]
		sum /= 62
	}
}

// Valid reports whether key is a well-formed token with the given valid
// prefix: the prefix and underscore, 43 base62 characters of body and a
// matching 6-character checksum. It consults no store, so that typos and
// junk never cost a lookup.
func Valid(prefix, key string, sum Sum) bool {
	if len(key) != len(prefix)+1+bodyLen+checksumLen ||
		key[:len(prefix)] != prefix || key[len(prefix)] != '_' {
		return false
	}
	rest := key[len(prefix)+1:]
	for i := 0; i < len(rest); i++ {
		if !isAlnum(rest[i]) {
			return false
		}
	}
	body, got := rest[:bodyLen], rest[bodyLen:]
	var want [checksumLen]byte
	encodeChecksum(&want, sum.of(prefix, body))
	return string(want[:]) == got
}

// IsLegacy reports whether key has the form of a Django REST Framework
// authtoken key: 40 lowercase hexadecimal characters.
func IsLegacy(key string) bool {
	if len(key) != legacyKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// IsUUID reports whether key is a UUID in canonical form: 8-4-4-4-12
// hexadecimal digits of either case.
func IsUUID(key string) bool {
	if len(key) != 36 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
