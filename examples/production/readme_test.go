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
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADME replays the transcript under "## Two replicas, one
// database" in README.md: it starts a replica for each "go run" line, in
// a table of its own of the database TOKENAUTH_TEST_POSTGRES_DSN names,
// with the README's variables (TOKENAUTH_DSN is the test's database,
// TOKENAUTH_HMAC_KEY a fresh key); once every replica is healthy, it sends
// each curl line, 0.3 s after the previous one, and compares what curl
// would print with the lines below it. "…" stands for any text without quotes or spaces ("tka_…" for any
// token); "$ NAME=tka_…" takes the token of the previous answer.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no README.md beside the example")
	}
	require.NoError(t, err)
	if testing.Short() {
		t.Skip("builds the example and runs it on a live database")
	}
	dsn := os.Getenv("TOKENAUTH_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("the README's transcript runs on PostgreSQL: set TOKENAUTH_TEST_POSTGRES_DSN to a test database's URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	m := regexp.MustCompile("(?s)\n## Two replicas, one database\n.*?```console\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "README.md has no transcript under \"## Two replicas, one database\"")
	table := newPostgresTable(t, dsn)

	var (
		env      []string
		replicas []*replica
		bases    = map[string]string{} // the README's address → the replica's URL
		vars     = map[string]string{}
		last     string // the previous answer
		ready    bool   // every replica answered /healthz with 200
	)
	for _, step := range strings.Split(strings.TrimPrefix(string(m[1]), "$ "), "\n$ ") {
		command, want, _ := strings.Cut(step, "\n")
		want = strings.TrimSuffix(want, "\n")
		words := shellWords(t, command, vars)
		switch {
		case words[0] == "export":
			name, _, _ := strings.Cut(words[1], "=")
			value, ok := map[string]string{"TOKENAUTH_HMAC_KEY": newKey(), "TOKENAUTH_DSN": dsn}[name]
			require.True(t, ok, "the transcript sets %s, which this test does not know", name)
			env = append(env, name+"="+value)
		case words[0] == "go":
			require.Equal(t, []string{"go", "run", "./examples/production"}, words[:3], command)
			var args []string
			var addr string
			for i := 3; i < len(words); i++ {
				switch w := words[i]; {
				case w == "&" || strings.HasPrefix(w, "2>"):
				case w == "-addr" && i+1 < len(words):
					i++
					addr = words[i]
					args = append(args, w, "127.0.0.1:0")
				default:
					args = append(args, w)
				}
			}
			require.NotEmpty(t, addr, "%s: no -addr", command)
			r := startReplica(t, addr, env, append(args, "-table", table)...)
			bases[addr] = r.url
			replicas = append(replicas, r)
		case regexp.MustCompile(`^[A-Z_]+=tka_…$`).MatchString(command):
			token := regexp.MustCompile(`"token":"(tka_\w+)"`).FindStringSubmatch(last)
			require.NotNil(t, token, "%s: no token in the previous answer: %s", command, last)
			vars[strings.TrimSuffix(command, "=tka_…")] = token[1]
		default:
			if !ready {
				require.Len(t, replicas, 2, "the transcript starts two replicas before it sends requests")
				for _, r := range replicas {
					r.waitHealthy(t)
				}
				ready = true
			}
			// As someone typing the commands would: the logout reaches B
			// within milliseconds, not at once (TestReplicas measures it).
			time.Sleep(300 * time.Millisecond)
			last = curl(t, words, bases)
			got := strings.Split(strings.TrimSuffix(last, "\n"), "\n")
			if want == "" {
				assert.Equal(t, []string{""}, got, command)
				continue
			}
			lines := strings.Split(want, "\n")
			if assert.Len(t, got, len(lines), "%s printed:\n%s", command, last) {
				for i, line := range lines {
					assert.Regexp(t, pattern(line), got[i], command)
				}
			}
		}
	}
}

// pattern turns a line of the README into a regular expression of the
// text it stands for: "…" (with the letters before it) is any text
// without quotes or spaces; "tka_…" is a token.
func pattern(line string) string {
	return "^" + regexp.MustCompile(`(tka_)?\w*…`).ReplaceAllString(regexp.QuoteMeta(line), `${1}[^"\s]+`) + "$"
}

// shellWords splits a command line as the shell does for the transcript:
// words in single quotes are kept as written, others have $NAME expanded
// from vars (a name not in vars is kept as written: "$(openssl …)").
func shellWords(t *testing.T, command string, vars map[string]string) []string {
	var words []string
	for _, w := range regexp.MustCompile(`(?:'[^']*'|"[^"]*"|[^\s'"]+)+`).FindAllString(command, -1) {
		var word strings.Builder
		for _, part := range regexp.MustCompile(`'[^']*'|"[^"]*"|[^'"]+`).FindAllString(w, -1) {
			if strings.HasPrefix(part, "'") {
				word.WriteString(strings.Trim(part, "'"))
				continue
			}
			word.WriteString(os.Expand(strings.Trim(part, `"`), func(name string) string {
				return cmp.Or(vars[name], "$"+name)
			}))
		}
		words = append(words, word.String())
	}
	require.NotEmpty(t, words, "an empty command")
	return words
}

// curl sends the request of a curl command line and returns what curl
// prints: -d (form fields, sent as POST), -H, -X, -s, -w with
// %{http_code} and \n, and a pipe into grep -E. The README's addresses
// are replaced by the replicas' URLs.
func curl(t *testing.T, words []string, bases map[string]string) string {
	t.Helper()
	require.Equal(t, "curl", words[0], "not a curl command: %s", strings.Join(words, " "))
	var (
		method, target, format, grep string
		header                       = http.Header{}
		form                         []string
	)
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-s":
			continue
		case w == "|":
			require.Equal(t, []string{"grep", "-E"}, words[i+1:i+3], "only grep -E is known after a pipe")
			require.Len(t, words, i+4, "grep -E takes one pattern")
			grep = words[i+3]
			i = len(words)
			continue
		case !strings.HasPrefix(w, "-"):
			target = w
			for addr, base := range bases {
				target = strings.Replace(target, "http://"+addr, base, 1)
			}
			continue
		}
		require.Less(t, i+1, len(words), "%s needs a value", w)
		i++
		switch v := words[i]; w {
		case "-H":
			name, value, ok := strings.Cut(v, ": ")
			require.True(t, ok, "header %q", v)
			header.Add(name, value)
		case "-d":
			form = append(form, v)
		case "-X":
			method = v
		case "-w":
			format = v
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
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	printed := string(out) + strings.NewReplacer(`%{http_code}`, resp.Status[:3], `\n`, "\n").Replace(format)
	if grep == "" {
		return printed
	}
	re := regexp.MustCompile(grep)
	var kept []string
	for _, line := range strings.Split(printed, "\n") {
		if re.MatchString(line) {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}
