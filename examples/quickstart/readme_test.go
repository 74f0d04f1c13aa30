package main

import (
	"cmp"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMETranscript replays the "Try it" transcript of
// examples/README.md against the server: each curl line is sent and its
// answer compared with the line below it, "tka_…" standing for any token.
// $ALICE and $BOB are the printed demo tokens; "$ NAME=tka_…" for any
// other name takes the token of the previous answer.
func TestREADMETranscript(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no ../README.md: this folder was copied out of the tokenauth repository")
	}
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)### Try it\n.*?```console\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "examples/README.md has no transcript under \"### Try it\"")

	s := start(t)
	vars := map[string]string{"ALICE": s.alice, "BOB": s.bob}
	var last string // the previous answer
	steps := strings.Split(strings.TrimPrefix(string(m[1]), "$ "), "\n$ ")
	require.Greater(t, len(steps), 5)
	for _, step := range steps {
		command, want, _ := strings.Cut(step, "\n")
		want = strings.TrimSuffix(want, "\n")
		t.Run(command, func(t *testing.T) {
			if name, _, ok := strings.Cut(command, "=tka_…"); ok {
				if name != "ALICE" && name != "BOB" {
					token := regexp.MustCompile(`"token":"(tka_\w+)"`).FindStringSubmatch(last)
					require.NotNil(t, token, "no token in the previous answer: %s", last)
					vars[name] = token[1]
				}
				require.NotEmpty(t, vars[name], "%s is not set", name)
				return
			}
			req := parseCurl(t, command, vars, s.URL)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			last = string(body)
			pattern := "^" + strings.ReplaceAll(regexp.QuoteMeta(want), "tka_…", `tka_\w+`) + "$"
			assert.Regexp(t, pattern, last)
		})
	}
}

// parseCurl turns a curl command line of the transcript into a request:
// -H, -d (form fields, sent as POST) and -X, double-quoted words, $NAME
// expanded from vars, and the README's address replaced by base.
func parseCurl(t *testing.T, command string, vars map[string]string, base string) *http.Request {
	t.Helper()
	words := regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(command, -1)
	require.Equal(t, "curl", words[0], "not a curl command: %s", command)
	var (
		method, target string
		header         = http.Header{}
		form           []string
	)
	for i := 1; i < len(words); i++ {
		w := os.Expand(strings.Trim(words[i], `"`), func(name string) string { return vars[name] })
		if !strings.HasPrefix(w, "-") {
			target = strings.Replace(w, "http://127.0.0.1:8000", base, 1)
			continue
		}
		require.Less(t, i+1, len(words), "%s needs a value", w)
		i++
		v := os.Expand(strings.Trim(words[i], `"`), func(name string) string { return vars[name] })
		switch w {
		case "-H":
			name, value, ok := strings.Cut(v, ": ")
			require.True(t, ok, "header %q", v)
			header.Add(name, value)
		case "-d":
			form = append(form, v)
		case "-X":
			method = v
		default:
			t.Fatalf("the transcript uses curl option %s, which this test does not know", w)
		}
	}
	var body io.Reader
	if len(form) > 0 {
		method = cmp.Or(method, http.MethodPost)
		body = strings.NewReader(strings.Join(form, "&"))
		header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req, err := http.NewRequest(cmp.Or(method, http.MethodGet), target, body)
	require.NoError(t, err)
	req.Header = header
	return req
}
