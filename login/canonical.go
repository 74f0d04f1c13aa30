package login

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxKeyRunes bounds a folded username. Django's usernames hold at most
// 150 characters, so every longer username is one no account has, and
// they may share budgets by their first 150 runes; the bound also bounds
// the work a 64 KiB username costs.
const maxKeyRunes = 150

// FoldUsername is the default Options.Canonical. It maps every spelling
// that a case- and accent-insensitive collation takes for one username
// (MySQL's and MariaDB's utf8mb4_unicode_ci, utf8mb4_general_ci,
// utf8mb4_unicode_520_ci, utf8mb4_uca1400_ai_ci) to one key, as far as
// the standard library can, so that respelling a username buys an
// attacker no fresh budget:
//
//   - Characters a collation ignores are removed: Unicode's default
//     ignorable code points (zero-width spaces and joiners, U+200B to
//     U+200F, U+2060, variation selectors, U+FEFF, tags), control and
//     format characters (categories Cc and Cf), marks (category M, so a
//     decomposed "a" + U+0301 is "a"), and the few others MariaDB 10.11's
//     Unicode collations were measured to ignore (the middle dot, the
//     Arabic tatweel, halfwidth voiced sound marks, Arabic presentation
//     forms of marks). Without this, "al\u200bice" and its endless
//     variants each had budgets of their own, and each reached a user
//     table whose collation reads them as "alice".
//   - Case: "ALICE" and "alice"; "ſ" and "s"; the Kelvin sign and "k";
//     dotted and dotless I and "i"; final and medial sigma.
//   - Width and spaces: fullwidth ASCII forms (U+FF01 to U+FF5E) become
//     ASCII ("ａｌｉｃｅ" is "alice"), every space separator (no-break,
//     ideographic, thin) becomes U+0020, and spaces at either end go, as
//     PAD SPACE collations ignore trailing ones.
//   - Characters outside the Basic Multilingual Plane, which MySQL's
//     utf8mb4_unicode_ci and utf8mb4_general_ci all compare equal, become
//     U+FFFD.
//   - Only the first 150 runes count.
//
// A username made only of ignorable characters folds to a single space,
// never to "" (which a MemoryLimiter reads as "no username").
//
// Folding more than the host's database merges budgets of distinct
// usernames, which costs little; folding less gives an attacker one
// budget per spelling. The standard library has no Unicode decomposition,
// so precomposed accents stay ("á" is not "a"), as do expansions ("ß" and
// "ss", "ﬁ" and "fi") and compatibility forms beyond those above: a host
// whose collation equates them must pass its own Canonical that first
// applies NFKD and drops marks, then full case folding (golang.org/x/text
// norm, runes and cases), and then FoldUsername.
func FoldUsername(s string) string {
	if isFolded(s) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), utf8.UTFMax*maxKeyRunes))
	for n, r := range foldRunes(s) {
		if n == maxKeyRunes {
			break
		}
		b.WriteRune(r)
	}
	out := strings.TrimRight(b.String(), " ")
	if out == "" && s != "" {
		return " "
	}
	return out
}

// foldRunes yields the folded runes of s, with its leading spaces
// dropped, and each rune's index among them.
func foldRunes(s string) func(yield func(int, rune) bool) {
	return func(yield func(int, rune) bool) {
		n := 0
		for _, r := range s { // invalid UTF-8 reads as U+FFFD
			switch {
			case isIgnorable(r):
				continue
			case r > 0xFFFF:
				r = utf8.RuneError
			case 0xFF01 <= r && r <= 0xFF5E:
				r -= 0xFF01 - '!'
			case unicode.Is(unicode.Zs, r):
				if n == 0 {
					continue
				}
				r = ' '
			}
			if !yield(n, foldCase(r)) {
				return
			}
			n++
		}
	}
}

func isIgnorable(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.M, ignorable)
}

// ignorable lists what collations ignore beyond categories Cc, Cf and M:
// Unicode's Default_Ignorable_Code_Point (some of them are letters or
// unassigned), and the code points MariaDB 10.11's utf8mb4_unicode_ci,
// utf8mb4_unicode_520_ci and utf8mb4_uca1400_ai_ci were found to ignore
// (testdata/collation-ignorable.txt).
var ignorable = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x00AD, Hi: 0x00AD, Stride: 1}, // soft hyphen
		{Lo: 0x00B7, Hi: 0x00B7, Stride: 1}, // middle dot
		{Lo: 0x034F, Hi: 0x034F, Stride: 1},
		{Lo: 0x0387, Hi: 0x0387, Stride: 1}, // Greek ano teleia, a middle dot
		{Lo: 0x061C, Hi: 0x061C, Stride: 1},
		{Lo: 0x0640, Hi: 0x0640, Stride: 1}, // Arabic tatweel
		{Lo: 0x06DE, Hi: 0x06DE, Stride: 1},
		{Lo: 0x07FA, Hi: 0x07FA, Stride: 1}, // NKo lajanyalan
		{Lo: 0x0824, Hi: 0x0824, Stride: 1},
		{Lo: 0x0828, Hi: 0x0828, Stride: 1},
		{Lo: 0x115F, Hi: 0x1160, Stride: 1}, // Hangul fillers
		{Lo: 0x17B4, Hi: 0x17B5, Stride: 1},
		{Lo: 0x180A, Hi: 0x180F, Stride: 1}, // Mongolian nirugu, variation selectors
		{Lo: 0x1CD3, Hi: 0x1CD3, Stride: 1},
		{Lo: 0x1CF2, Hi: 0x1CF3, Stride: 1},
		{Lo: 0x200B, Hi: 0x200F, Stride: 1}, // zero-width space, joiners, marks
		{Lo: 0x202A, Hi: 0x202E, Stride: 1},
		{Lo: 0x2060, Hi: 0x206F, Stride: 1},
		{Lo: 0x3164, Hi: 0x3164, Stride: 1},
		{Lo: 0xFC5E, Hi: 0xFC63, Stride: 1}, // Arabic presentation forms of marks
		{Lo: 0xFCF2, Hi: 0xFCF4, Stride: 1},
		{Lo: 0xFE00, Hi: 0xFE0F, Stride: 1},
		{Lo: 0xFE70, Hi: 0xFE74, Stride: 1},
		{Lo: 0xFE76, Hi: 0xFE7F, Stride: 1},
		{Lo: 0xFEFF, Hi: 0xFEFF, Stride: 1},
		{Lo: 0xFF9E, Hi: 0xFFA0, Stride: 1}, // halfwidth voiced marks, Hangul filler
	},
	R32: []unicode.Range32{
		{Lo: 0x1BCA0, Hi: 0x1BCA3, Stride: 1},
		{Lo: 0x1D173, Hi: 0x1D17A, Stride: 1},
		{Lo: 0xE0000, Hi: 0xE0FFF, Stride: 1},
	},
	LatinOffset: 2,
}

// isFolded reports whether s folds to itself for a reason quick to see:
// printable ASCII without upper case or surrounding spaces, and short.
func isFolded(s string) bool {
	if s == "" || len(s) > maxKeyRunes || s[0] == ' ' || s[len(s)-1] == ' ' {
		return s == ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// foldCase maps every rune of a simple case-folding orbit to one rune: the
// least of the orbit's lower-of-upper forms, so that K, k and the Kelvin
// sign all give "k". Lower-of-upper alone is not enough where Unicode
// joins two lower-case forms in one orbit, as Go 1.27's tables do for
// U+0390 and U+1FD3, and for U+FB05 and U+FB06.
func foldCase(r rune) rune {
	folded := unicode.ToLower(unicode.ToUpper(r))
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		folded = min(folded, unicode.ToLower(unicode.ToUpper(f)))
	}
	return folded
}
