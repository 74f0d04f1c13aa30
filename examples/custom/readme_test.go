package main

import (
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

// TestREADMETranscript replays the transcript under "## custom" in
// examples/README.md against the example: each curl line is sent and its
// answer compared with the line below it, "…" standing for any text
// without quotes or spaces ("tka_…" for any token). "$ NAME=tka_…" takes
// the token of the previous answer.
func TestREADMETranscript(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no ../README.md: this folder was copied out of the tokenauth repository")
	}
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)\n## custom.*?```console\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "examples/README.md has no transcript under \"## custom\"")

	_, srv := start(t)
	vars := map[string]string{}
	var last string // the previous answer
	steps := strings.Split(strings.TrimPrefix(string(m[1]), "$ "), "\n$ ")
	require.Greater(t, len(steps), 4)
	for _, step := range steps {
		command, want, _ := strings.Cut(step, "\n")
		want = strings.TrimSuffix(want, "\n")
		t.Run(command, func(t *testing.T) {
			if strings.HasPrefix(command, "go run ") {
				return // the server: srv
			}
			if name, _, ok := strings.Cut(command, "=tka_…"); ok {
				token := regexp.MustCompile(`"token":"(tka_\w+)"`).FindStringSubmatch(last)
				require.NotNil(t, token, "no token in the previous answer: %s", last)
				vars[name] = token[1]
				return
			}
			resp, err := srv.Client().Do(parseCurl(t, command, vars, srv.URL))
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			last = string(body)
			assert.Regexp(t, pattern(want), last)
		})
	}
}

// pattern turns a line of the README into a regular expression of the
// text it stands for: "…" (with the letters before it) is any text
// without quotes or spaces; "tka_…" is a token.
func pattern(line string) string {
	return "^" + regexp.MustCompile(`(tka_)?\w*…`).ReplaceAllString(regexp.QuoteMeta(line), `${1}[^"\s]+`) + "$"
}

// parseCurl turns a curl command line into a request: -H, -d (sent as
// POST; form fields are joined with &) and -X, words in single or double
// quotes, $NAME expanded from vars (not inside single quotes), and the
// README's address replaced by base.
func parseCurl(t *testing.T, command string, vars map[string]string, base string) *http.Request {
	t.Helper()
	var words []string
	for _, w := range regexp.MustCompile(`'[^']*'|"[^"]*"|\S+`).FindAllString(command, -1) {
		if strings.HasPrefix(w, "'") {
			words = append(words, strings.Trim(w, "'"))
			continue
		}
		words = append(words, os.Expand(strings.Trim(w, `"`), func(name string) string { return vars[name] }))
	}
	require.Equal(t, "curl", words[0], "not a curl command: %s", command)
	var (
		method, target = http.MethodGet, ""
		header         = http.Header{}
		data           []string
	)
	for i := 1; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") {
			target = strings.Replace(w, "http://127.0.0.1:8000", base, 1)
			continue
		}
		require.Less(t, i+1, len(words), "%s needs a value", w)
		i++
		switch w {
		case "-H":
			name, value, _ := strings.Cut(words[i], ":")
			header.Add(name, strings.TrimSpace(value))
		case "-d":
			data = append(data, words[i])
			method = http.MethodPost
		case "-X":
			method = words[i]
		default:
			t.Fatalf("the transcript uses curl option %s, which this test does not know", w)
		}
	}
	if len(data) > 0 && header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req, err := http.NewRequest(method, target, strings.NewReader(strings.Join(data, "&")))
	require.NoError(t, err)
	req.Header = header
	return req
}
