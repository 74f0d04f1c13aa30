package form

import (
	"strings"
	"unicode"
)

// Char applies DRF's CharField rules to v: it must be present, not null, a
// string, not blank once trimmed (when trim is set), and free of NUL
// characters. It returns the value, trimmed if asked, or DRF's message for
// what is wrong.
func (v Value) Char(trim bool) (text, problem string) {
	switch v.Kind {
	case Missing:
		return "", "This field is required."
	case Null:
		return "", "This field may not be null."
	case NotString:
		return "", "Not a valid string."
	}
	text = v.Text
	if trim {
		text = strings.TrimFunc(text, isPySpace)
	}
	switch {
	case text == "":
		return "", "This field may not be blank."
	case strings.IndexByte(text, 0) >= 0:
		return "", "Null characters are not allowed."
	}
	return text, ""
}

// isPySpace matches what Python's str.strip removes: Unicode white space
// and the four ASCII information separators.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f
}
