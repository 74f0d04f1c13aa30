package tokenauth

import (
	"net/http"
	"unicode/utf8"
)

// extract finds the key in r: the Authorization header first, then the
// configured cookie and query parameter. It reports whether the key came
// from the cookie, and allocates nothing for a request that carries a
// header.
func (a *Authenticator) extract(r *http.Request) (key string, fromCookie bool, err error) {
	values := r.Header["Authorization"]
	err = ErrNoCredentials
	switch len(values) {
	case 0:
	case 1:
		key, err = parseAuthorization(values[0], a.opts.Keywords, a.opts.RawHeader)
		if err == nil {
			return key, false, nil
		}
	default:
		// Several Authorization headers are ambiguous; a proxy that joined
		// them would send "Token a, Token b": too many words.
		for _, v := range values {
			if _, e := parseAuthorization(v, a.opts.Keywords, a.opts.RawHeader); e != ErrNoCredentials {
				return "", false, errHeaderSpaces
			}
		}
	}
	if err != ErrNoCredentials {
		return "", false, err
	}
	if a.opts.Cookie != "" {
		if key, err = a.cookieKey(r); err != ErrNoCredentials {
			return key, err == nil, err
		}
	}
	if a.opts.QueryParam != "" && r.URL != nil && r.URL.RawQuery != "" {
		if v := r.URL.Query().Get(a.opts.QueryParam); v != "" {
			key, err = checkKeyChars(v)
			return key, false, err
		}
	}
	return "", false, ErrNoCredentials
}

// cookieKey returns the key in the configured cookie. Two cookies of that
// name are refused: which one a browser sends first is not defined, and a
// sibling subdomain can plant one.
func (a *Authenticator) cookieKey(r *http.Request) (string, error) {
	cookies := r.CookiesNamed(a.opts.Cookie)
	switch {
	case len(cookies) == 0 || len(cookies) == 1 && cookies[0].Value == "":
		return "", ErrNoCredentials
	case len(cookies) > 1:
		return "", errDuplicateCookie
	}
	return checkKeyChars(cookies[0].Value)
}

// parseAuthorization parses an Authorization header value the way Django
// REST Framework's TokenAuthentication does, and returns the key.
//
// The value is split on runs of ASCII whitespace. If the first word is not
// one of keywords (compared case-insensitively), the header belongs to
// another scheme and the error is ErrNoCredentials, unless raw is true and
// the value is a single word, which is then the key itself. The keyword
// alone gives errHeaderNoKey; more than one word after it gives
// errHeaderSpaces; a key that is not valid UTF-8 or holds control
// characters gives errHeaderInvalidChars. It does not check the key's
// format (see parse).
func parseAuthorization(value string, keywords []string, raw bool) (string, error) {
	if key, ok := quickKey(value, keywords); ok {
		return key, nil
	}
	return parseWords(value, keywords, raw)
}

// parseWords is parseAuthorization without the quick path.
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
			return "", errHeaderSpaces
		}
		return checkKeyChars(first)
	}
	if key == "" {
		return "", errHeaderNoKey
	}
	if extra, _ := nextWord(rest); extra != "" {
		return "", errHeaderSpaces
	}
	return checkKeyChars(key)
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

// checkKeyChars rejects keys that are not valid UTF-8 or that hold control
// characters.
func checkKeyChars(key string) (string, error) {
	var high byte
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < 0x20 || c == 0x7f {
			return "", errHeaderInvalidChars
		}
		high |= c
	}
	if high >= utf8.RuneSelf && !utf8.ValidString(key) {
		return "", errHeaderInvalidChars
	}
	return key, nil
}
