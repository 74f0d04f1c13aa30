// Package authheader reads a key from an Authorization header value
// exactly as Django REST Framework's TokenAuthentication does, so that
// clients written against DRF see the same answers.
package authheader

import (
	"errors"
	"unicode/utf8"
)

// Errors of Parse. The root package exports ErrNoCredentials and
// ErrMalformed as its own; the others match ErrMalformed with errors.Is.
var (
	ErrNoCredentials = errors.New("tokenauth: authentication credentials were not provided")
	ErrMalformed     = errors.New("tokenauth: invalid token header")
	ErrNoKey         = &malformed{"tokenauth: invalid token header: no credentials provided"}
	ErrSpaces        = &malformed{"tokenauth: invalid token header: token string should not contain spaces"}
	ErrInvalidChars  = &malformed{"tokenauth: invalid token header: token string should not contain invalid characters"}
)

type malformed struct{ msg string }

func (e *malformed) Error() string { return e.msg }
func (e *malformed) Unwrap() error { return ErrMalformed }

// Parse parses an Authorization header value the way Django REST
// Framework's TokenAuthentication does, and returns the key.
//
// The value is split on runs of ASCII whitespace. If the first word is not
// one of keywords (compared case-insensitively), the header belongs to
// another scheme and the error is ErrNoCredentials, unless raw is true and
// the value is a single word, which is then the key itself. The keyword
// alone gives ErrNoKey; more than one word after it gives ErrSpaces; a key
// that is not valid UTF-8 or holds control characters gives
// ErrInvalidChars. It does not check the key's format.
func Parse(value string, keywords []string, raw bool) (string, error) {
	if key, ok := quickKey(value, keywords); ok {
		return key, nil
	}
	return parseWords(value, keywords, raw)
}

// parseWords is Parse without the quick path.
func parseWords(value string, keywords []string, raw bool) (string, error) {
	first, rest := nextWord(value)
	if first == "" {
		return "", ErrNoCredentials
	}
	key, rest := nextWord(rest)
	if !hasKeyword(first, keywords) {
		if !raw {
			return "", ErrNoCredentials
		}
		if key != "" {
			return "", ErrSpaces
		}
		return CheckChars(first)
	}
	if key == "" {
		return "", ErrNoKey
	}
	if extra, _ := nextWord(rest); extra != "" {
		return "", ErrSpaces
	}
	return CheckChars(key)
}

// quickKey handles the common header, a keyword, one space and a key of
// visible ASCII, in a single pass. It reports false for anything else,
// which the general parser then handles; where it reports true the general
// parser would return the same key.
func quickKey(value string, keywords []string) (string, bool) {
	for _, k := range keywords {
		n := len(k)
		if len(value) <= n+1 || value[n] != ' ' || !asciiEqualFold(value[:n], k) {
			continue
		}
		key := value[n+1:]
		for i := 0; i < len(key); i++ {
			if !visible[key[i]] {
				return "", false
			}
		}
		return key, true
	}
	return "", false
}

// visible marks printable ASCII other than space: the bytes a key taken
// whole from a header may hold without further checks.
var visible = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = true
	}
	return t
}()

func hasKeyword(word string, keywords []string) bool {
	for _, k := range keywords {
		if asciiEqualFold(word, k) {
			return true
		}
	}
	return false
}

// space marks the bytes Python's bytes.split() splits on.
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '\v': true, '\f': true}

func isSpace(c byte) bool { return space[c] }

// nextWord returns the first whitespace-delimited word of s and what
// follows it.
func nextWord(s string) (word, rest string) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// CheckChars rejects keys that are not valid UTF-8 or that hold control
// characters.
func CheckChars(key string) (string, error) {
	var high byte
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < 0x20 || c == 0x7f {
			return "", ErrInvalidChars
		}
		high |= c
	}
	if high >= utf8.RuneSelf && !utf8.ValidString(key) {
		return "", ErrInvalidChars
	}
	return key, nil
}
