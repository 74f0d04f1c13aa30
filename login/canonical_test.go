package login_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"github.com/go-tokenauth/tokenauth/tokenauthtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFoldUsername(t *testing.T) {
	cases := []struct{ in, want string }{
		{"alice", "alice"},
		{"ALICE", "alice"},
		{"ÉLODIE", "élodie"},
		{"ａｌｉｃｅ", "alice"}, // fullwidth
		{"ＡＬＩＣＥ＠ＥＸ．ＣＯＭ", "alice@ex.com"},
		{"mary\u3000ann", "mary ann"}, // ideographic space
		{"mary\u00a0ann", "mary ann"}, // no-break space
		{"a\u0301lice", "alice"},      // decomposed accent
		{"\u212Aelvin", "kelvin"},     // Kelvin sign
		{"cla\u017Fs", "class"},       // long s
		{"ALİCE", "alice"},            // dotted capital I
		{"alıce", "alice"},            // dotless i
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ"},        // final and medial sigma fold together
		{"σίσυφος", "σίσυφοσ"},
		{"ΙΩΑΝΝΗΣ", "ιωαννησ"}, // iota, whose folding orbit holds a mark
		{"straße", "straße"},   // simple folding keeps ß
		{"álice", "álice"},     // precomposed accents are the host's to fold
		// What collations ignore.
		{"al\u200bice", "alice"},
		{"\u200ba\u200cl\u200di\u2060c\ufeffe\u00ad", "alice"},
		{"alice\U000E0041\U000E007F", "alice"}, // tags
		{"al\x01ice\x7f", "alice"},             // controls
		{"a\u0640lice", "alice"},               // Arabic tatweel
		{"al\u00b7ice", "alice"},               // middle dot
		{"alice\ufe0f", "alice"},               // variation selector
		{"alice \u200b ", "alice"},             // trailing spaces, as PAD SPACE
		{"\u3000alice", "alice"},
		{"a\U0001F600", "a\uFFFD"}, // MySQL's 4.0 collations equate all of these
		{"a\U0001F601", "a\uFFFD"},
		{"\u200b", " "}, // never "", which means no username
		{"", ""},
		{"al\xffice", "al\uFFFDice"}, // invalid UTF-8 cannot arrive, but must not panic
		{strings.Repeat("é", 200), strings.Repeat("é", 150)},
		{strings.Repeat("a", 149) + " b", strings.Repeat("a", 149)},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			assert.Equal(t, c.want, login.FoldUsername(c.in))
		})
	}
}

// Every code point that MariaDB's Unicode collations ignore is dropped,
// wherever it stands and however often it repeats.
func TestFoldUsernameDropsWhatCollationsIgnore(t *testing.T) {
	f, err := os.Open("testdata/collation-ignorable.txt")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		cp, err := strconv.ParseUint(line, 16, 32)
		require.NoError(t, err)
		c := string(rune(cp))
		for _, s := range []string{"al" + c + "ice", c + "alice", "alice" + c, "a" + c + c + c + "lice", "AL" + c + "ICE"} {
			if !assert.Equal(t, "alice", login.FoldUsername(s), "U+%04X", cp) {
				break
			}
		}
		n++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, 1563, n)
}

// Case folding sends every member of a simple folding orbit to one rune,
// which is a fixed point.
func TestFoldUsernameCaseOrbits(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		want := login.FoldUsername(string(r))
		if want == " " {
			continue // dropped, as a mark (U+0345, in iota's orbit) is
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if got := login.FoldUsername(string(f)); got != want && got != " " {
				t.Errorf("U+%04X folds to %+q, U+%04X of its orbit to %+q", r, want, f, got)
			}
		}
		if again := login.FoldUsername(want); again != want {
			t.Errorf("U+%04X folds to %+q, which folds to %+q", r, want, again)
		}
	}
}

func FuzzFoldUsername(f *testing.F) {
	for _, s := range []string{"alice", "ALİCE", "al\u200bice", "ΣΊΣΥΦΟΣ", " \u3000x ", "\xff\xfe", strings.Repeat("ǅ", 160), "a\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := login.FoldUsername(s)
		if s != "" && k == "" {
			t.Fatalf("%+q folds to the empty key", s)
		}
		if !utf8.ValidString(k) {
			t.Fatalf("%+q folds to invalid UTF-8 %+q", s, k)
		}
		if n := utf8.RuneCountInString(k); n > 150 {
			t.Fatalf("%+q folds to %d runes", s, n)
		}
		if again := login.FoldUsername(k); again != k {
			t.Fatalf("not idempotent: %+q, then %+q, then %+q", s, k, again)
		}
		for _, r := range k {
			if unicode.In(r, unicode.Cc, unicode.Cf, unicode.M) || r > 0xFFFF || unicode.ToLower(r) != r {
				t.Fatalf("%+q folds to %+q, which keeps U+%04X", s, k, r)
			}
		}
		if k != strings.Trim(k, " ") && k != " " {
			t.Fatalf("%+q folds to %+q, with spaces at an end", s, k)
		}
	})
}

// recordingLimiter records the keys the handler asks about.
type recordingLimiter struct {
	mu   sync.Mutex
	keys []login.LimitKey
}

func (l *recordingLimiter) Allow(_ context.Context, k login.LimitKey) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, k)
	return 0, true
}

func (l *recordingLimiter) Done(context.Context, login.LimitKey, login.Outcome) {}

// Respelling a username buys no fresh budget when Canonical folds as the
// host's database matches: here one that compares case- and
// accent-insensitively, as MariaDB's default collation does.
func TestCanonicalSharesBudgets(t *testing.T) {
	spellings := []string{
		"alice", "ALICE", "Alice", "aLiCe", "ａｌｉｃｅ", "ＡＬＩＣＥ", "Ａlice", "a\u0301lice",
		"\u0430lice", // Cyrillic а: another username, another budget
	}
	accents := strings.NewReplacer("á", "a", "Á", "a", "é", "e", "É", "e", "İ", "i", "ì", "i")
	collation := func(s string) string { return login.FoldUsername(accents.Replace(s)) }
	cases := []struct {
		name      string
		canonical func(string) string
		spellings []string
		checked   int
	}{
		{"default folds case and width", nil, spellings[:8], 5},
		{"other letters are other usernames", nil, spellings, 10},
		{"the host's folding", collation, []string{"alice", "ÁLİCE", "álice", "alicé", "ALİCE", "Álìcé", "ａｌｉｃｅ"}, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, tokenauth.Options{}, login.Options{Canonical: c.canonical})
			for _, s := range c.spellings {
				for range 6 {
					loginAs(t, fx.h, "192.0.2.1:1", s, "guess")
				}
			}
			assert.Len(t, fx.users.attempts(), c.checked)
		})
	}

	t.Run("the checker gets the username as sent", func(t *testing.T) {
		rec := &recordingLimiter{}
		fx := newFixture(t, tokenauth.Options{}, login.Options{Limiter: rec})
		assert.Equal(t, http.StatusBadRequest, loginAs(t, fx.h, "192.0.2.1:1", " ＪＯＨＮ ", password).Code)
		assert.Equal(t, []attempt{{"ＪＯＨＮ", password}}, fx.users.attempts())
		require.Len(t, rec.keys, 1)
		assert.Equal(t, "john", rec.keys[0].Username)
	})
}

// Finding 4: 600 guesses at "alice", each spelled with zero-width and
// other ignorable characters that a utf8mb4_unicode_ci users table reads
// as "alice", sent over 30 seconds from 600 addresses. Before, each
// spelling had a budget of its own and 599 reached the password check;
// now they share alice's account credit: at most 12 (10, and 2 reserved
// for addresses in good standing).
func TestRespelledGuessesShareTheAccountBudget(t *testing.T) {
	clock := tokenauthtest.NewClock()
	collation := func(s string) string { // what the host's table matches
		return strings.Map(func(r rune) rune {
			if unicode.In(r, unicode.Cf, unicode.Mn) || r == '\u2060' {
				return -1
			}
			return unicode.ToLower(r)
		}, s)
	}
	var mu sync.Mutex
	checked := 0
	auth, _ := tokenauthtest.New(t, tokenauth.Options{Logger: discardLogger})
	h, err := login.New(auth, login.CredentialCheckerFunc(func(_ context.Context, username, pw string) (login.Grant, error) {
		mu.Lock()
		defer mu.Unlock()
		if collation(username) == "alice" {
			checked++
		}
		return login.Grant{}, login.ErrBadCredentials
	}), login.Options{Now: clock.Now, Logger: discardLogger})
	require.NoError(t, err)

	ignorables := []string{"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f", "\u180e"}
	distinct := map[string]bool{}
	for i := range 600 {
		// The i-th spelling: in each of the 6 gaps around alice's
		// letters, as many ignorables as that digit of i in base 3.
		var b strings.Builder
		for j, gap := 0, 1; j < 6; j, gap = j+1, gap*3 {
			b.WriteString(strings.Repeat(ignorables[(i+j)%len(ignorables)], i/gap%3))
			if j < 5 {
				b.WriteByte("alice"[j])
			}
		}
		s := b.String()
		distinct[s] = true
		require.Equal(t, "alice", collation(s))
		loginAs(t, h, fmt.Sprintf("10.9.%d.%d:1", i/250, i%250), s, fmt.Sprint("guess", i))
		clock.Advance(50 * time.Millisecond)
	}
	require.Len(t, distinct, 600)
	assert.LessOrEqual(t, checked, 12)
	t.Logf("%d of 600 respelled guesses reached the checker", checked)
}
