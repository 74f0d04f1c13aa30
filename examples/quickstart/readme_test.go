package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADME runs the quickstart as `go run` does and checks the
// "## Quickstart" section of examples/README.md against it: the first
// console block is what the server prints at start; every later one is a
// transcript, replayed in order against the running server, each curl
// line sent and its answer compared with the line below it.
//
// In expected text, "…" stands for any text without quotes or spaces
// ("tka_…" for any token, "tka_pU2S…" too). "$ NAME=… # comment" names a
// value: ALICE, BOB, SECRET and INTROSPECT are read from what the server
// printed; a name ending in _ID takes the "id" of the previous answer, any
// other the "token". Requests carry curl's User-Agent.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no ../README.md: this folder was copied out of the tokenauth repository")
	}
	require.NoError(t, err)
	section := regexp.MustCompile(`(?s)\n## Quickstart\n(.*?)(\n## |$)`).FindSubmatch(readme)
	require.NotNil(t, section, `examples/README.md has no "## Quickstart" section`)
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```console\n(.*?)```").FindAllSubmatch(section[1], -1) {
		blocks = append(blocks, string(m[1]))
	}
	require.Greater(t, len(blocks), 2, "a start and transcripts")

	// The start, with nothing listening at the key list's address: the
	// transcript's report must be refused before GitHub is asked.
	startup, _ := strings.CutPrefix(blocks[0], "$ go run ./examples/quickstart\n")
	banner, base := serve(t, config{addr: "127.0.0.1:0", db: filepath.Join(t.TempDir(), "quickstart.db"), githubKeysURL: "http://127.0.0.1:1/"})
	want := strings.Split(strings.TrimSuffix(startup, "\n"), "\n")
	require.Len(t, banner, len(want), "the README shows %d lines at start; the server printed:\n%s", len(want), strings.Join(banner, "\n"))
	for i := range want {
		assert.Regexp(t, pattern(strings.ReplaceAll(want[i], "http://127.0.0.1:8000", base)), banner[i])
	}
	printed := strings.Join(banner, "\n")
	vars := map[string]string{}
	for name, re := range map[string]string{
		"ALICE":      `alice: (\S+)`,
		"BOB":        `bob \(inactive\): (\S+)`,
		"SECRET":     `secret (\S+)`,
		"INTROSPECT": `"introspect": (\S+)`,
	} {
		m := regexp.MustCompile(re).FindStringSubmatch(printed)
		require.NotNil(t, m, "%s is not in what the server printed", name)
		vars[name] = m[1]
	}
	printedVars := len(vars)

	var last string // the previous answer
	for _, block := range blocks[1:] {
		for _, step := range strings.Split(strings.TrimPrefix(block, "$ "), "\n$ ") {
			command, want, _ := strings.Cut(step, "\n")
			want = strings.TrimSuffix(want, "\n")
			if name, _, ok := strings.Cut(command, "="); ok && regexp.MustCompile(`^[A-Z][A-Z_]*$`).MatchString(name) {
				if _, ok := vars[name]; !ok {
					value := regexp.MustCompile(`"token":"(tka_\w+)"`)
					if strings.HasSuffix(name, "_ID") {
						value = regexp.MustCompile(`"id":"(\w+)"`)
					}
					m := value.FindStringSubmatch(last)
					require.NotNil(t, m, "%s: not in the previous answer: %s", command, last)
					vars[name] = m[1]
				}
				continue
			}
			t.Run(command, func(t *testing.T) {
				resp, err := http.DefaultClient.Do(parseCurl(t, command, vars, base))
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				last = string(body)
				assert.Regexp(t, pattern(want), last)
			})
		}
	}
	assert.Greater(t, len(vars), printedVars, "the transcripts name tokens of their own")
}

// pattern turns a line of the README into a regular expression of the
// text it stands for: "…" (with the letters before it) is any text
// without quotes or spaces; "tka_…" is a token.
func pattern(line string) string {
	return "^" + regexp.MustCompile(`(tka_)?\w*…`).ReplaceAllString(regexp.QuoteMeta(line), `${1}[^"\s]+`) + "$"
}

// serve runs the quickstart until the test ends and returns the lines it
// printed up to "Listening on" and its base URL.
func serve(t *testing.T, cfg config) (banner []string, base string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, in := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, in) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
		in.Close()
	})
	lines := bufio.NewScanner(out)
	for base == "" {
		require.True(t, lines.Scan(), "the server stopped before listening: %v", lines.Err())
		banner = append(banner, lines.Text())
		if after, ok := strings.CutPrefix(lines.Text(), "Listening on "); ok {
			base = after
		}
	}
	go io.Copy(io.Discard, out) // the request log
	return banner, base
}

// parseCurl turns a curl command line of a transcript into a request: -H,
// -u, -d (form fields, sent as POST) and -X, words in single or double
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
		words = append(words, os.Expand(strings.Trim(w, `"`), func(name string) string {
			require.Contains(t, vars, name, "$%s is not set", name)
			return vars[name]
		}))
	}
	require.Equal(t, "curl", words[0], "not a curl command: %s", command)
	var (
		method, target string
		header         = http.Header{}
		user, password string
		form           []string
	)
	for i := 1; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") {
			target = strings.Replace(w, "http://127.0.0.1:8000", base, 1)
			continue
		}
		require.Less(t, i+1, len(words), "%s needs a value", w)
		i++
		switch v := words[i]; w {
		case "-H":
			name, value, ok := strings.Cut(v, ": ")
			require.True(t, ok, "header %q", v)
			header.Add(name, value)
		case "-u":
			user, password, _ = strings.Cut(v, ":")
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
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	req, err := http.NewRequest(cmp.Or(method, http.MethodGet), target, body)
	require.NoError(t, err)
	req.Header = header
	if header.Get("User-Agent") == "" {
		header.Set("User-Agent", "curl/8.5.0")
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	return req
}
