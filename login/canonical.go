package login

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// FoldUsername is the default Options.Canonical. It folds what most user
// tables treat as one username, so that respelling a username buys an
// attacker no fresh budget:
//
//   - case, by Unicode simple case folding ("ALICE", "alice"; "ſ" and "s";
//     the Kelvin sign and "k"), and dotted capital I to "i";
//   - width: fullwidth ASCII forms (U+FF01 to U+FF5E) and the ideographic
//     space become their ASCII counterparts ("ａｌｉｃｅ" is "alice");
//   - combining marks (Unicode category Mn) are dropped, so a decomposed
//     "a" + U+0301 is "a".
//
// It does not fold precomposed accented letters ("á" stays "á"): the
// standard library has no Unicode decomposition. A host whose database
// matches usernames accent-insensitively must pass its own Canonical; see
// Options.Canonical.
func FoldUsername(s string) string {
	if isFolded(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case 0xFF01 <= r && r <= 0xFF5E:
			r -= 0xFF01 - '!'
		case r == '\u3000':
			r = ' '
		case unicode.Is(unicode.Mn, r):
			continue
		}
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune maps every rune of a simple case-folding orbit (K, k and the
// Kelvin sign K) to one: the lower case of its smallest member.
func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return unicode.ToLower(least)
}

// isFolded reports whether s is ASCII without upper case, which folds to
// itself.
func isFolded(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}
