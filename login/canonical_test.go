package login_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
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
		{"a\u0301lice", "alice"},      // decomposed accent
		{"\u212Aelvin", "kelvin"},     // Kelvin sign
		{"cla\u017Fs", "class"},       // long s
		{"ALİCE", "alice"},            // dotted capital I
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ"},        // final and medial sigma fold together
		{"σίσυφος", "σίσυφοσ"},
		{"straße", "straße"}, // simple folding keeps ß
		{"álice", "álice"},   // precomposed accents are the host's to fold
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			assert.Equal(t, c.want, login.FoldUsername(c.in))
		})
	}
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
