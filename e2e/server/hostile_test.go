package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noResponse stands for a connection the server closed without answering,
// as it does when the client hangs up in the middle of its headers.
const noResponse = 0

// exchange sends raw bytes to addr on a new connection and returns the
// status of the answer, or noResponse. It writes and reads at once, so
// that an answer sent before the whole request was read (413 for a huge
// body) is seen. With hangUp, it then closes its writing side, as a client
// that gives up in the middle of its request does.
func exchange(t *testing.T, addr string, request io.Reader, hangUp bool) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, conn.SetDeadline(time.Now().Add(time.Minute)))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		// The server may stop reading and close: write errors are
		// expected then.
		_, _ = io.Copy(conn, request)
		if hangUp {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	defer func() {
		conn.Close()
		<-wrote
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return noResponse
	}
	require.NoError(t, err, "reading the answer")
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		require.NoError(t, err, "reading the body of a %d", resp.StatusCode)
	}
	return resp.StatusCode
}

// raw builds a request: a request line, a Host header, the given header
// lines and Connection: close, then body.
func raw(requestLine string, headers []string, body string) string {
	var b strings.Builder
	b.WriteString(requestLine + "\r\nHost: 127.0.0.1\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n" + body)
	return b.String()
}

// post builds a POST of body with the given Content-Type to path.
func post(path, contentType, body string) string {
	headers := []string{fmt.Sprintf("Content-Length: %d", len(body))}
	if contentType != "" {
		headers = append(headers, "Content-Type: "+contentType)
	}
	return raw("POST "+path+" HTTP/1.1", headers, body)
}

// TestHostileInput sends the service, over real TCP, what careless and
// hostile clients send: huge, malformed and duplicated headers, control
// bytes and invalid UTF-8, keys of every wrong length, 10 MiB bodies,
// truncated multipart, deeply nested JSON and wrong media types. No answer
// is a 5xx, nothing panics, and the server keeps serving.
func TestHostileInput(t *testing.T) {
	s := start(t, config{dsn: filepath.Join(t.TempDir(), "hostile.db")})
	require.NotEmpty(t, s.AliceToken)
	addr := strings.TrimPrefix(s.URL, "http://")
	get := func(headers ...string) string { return raw("GET /api/protected/ HTTP/1.1", headers, "") }
	auth := func(value string) string { return "Authorization: " + value }
	alice := auth("Token " + s.AliceToken)

	type hostile struct {
		name    string
		request string
		hangUp  bool  // the client stops sending once the request is out
		want    []int // acceptable statuses; noResponse for a closed connection
	}
	var tests []hostile
	add := func(name, request string, want ...int) { tests = append(tests, hostile{name, request, false, want}) }
	addHangUp := func(name, request string, want ...int) { tests = append(tests, hostile{name, request, true, want}) }

	// Headers.
	for _, size := range []int{16 << 10, 64 << 10, 512 << 10} {
		add(fmt.Sprintf("%d KiB key", size>>10), get(auth("Token "+strings.Repeat("a", size))), 401)
	}
	add("2 MiB header", get(auth("Token "+strings.Repeat("a", 2<<20))), 431)
	add("2 MiB URL", raw("GET /api/protected/?"+strings.Repeat("a", 2<<20)+" HTTP/1.1", []string{alice}, ""), 431)
	many := make([]string, 10000)
	for i := range many {
		many[i] = fmt.Sprintf("X-Junk-%d: %d", i, i)
	}
	add("10000 headers", get(append(many, alice)...), 200)
	add("NUL in the key", get(auth("Token tka_\x00abc")), 400)
	controls := []byte{0x7f}
	for c := byte(0x01); c < 0x20; c++ {
		if c != '\t' && c != '\n' && c != '\r' {
			controls = append(controls, c)
		}
	}
	for _, c := range controls {
		add(fmt.Sprintf("control byte %#x in the key", c), get(auth("Token tka_"+string(c)+"abc")), 400)
	}
	add("tab inside the header", get(auth("Token\ttka_abc")), 401)
	add("bare CR in the key", get(auth("Token tka_a\rb")), 400)
	add("invalid UTF-8 key", get(auth("Token \xff\xfe\xfd")), 401)
	add("UTF-16 surrogate in the key", get(auth("Token tka_\xed\xa0\x80")), 401)
	add("valid key with invalid UTF-8 after it", get(auth("Token "+s.AliceToken+" \xff")), 401)
	add("duplicated Authorization, the same key", get(alice, alice), 401)
	add("duplicated Authorization, another scheme", get(alice, auth("Basic YWxpY2U6cGFzc3dvcmQ=")), 401)
	add("duplicated Authorization, bad and good", get(auth("Token nope"), alice), 401)
	add("keyword only", get(auth("Token")), 401)
	add("keyword and spaces", get(auth("Token    ")), 401)
	add("keyword in another case", get(auth("tOKEN "+s.AliceToken)), 200)
	add("another scheme only", get(auth("Bearer")), 401)
	add("empty Authorization", get(auth("")), 401)
	add("NUL in a header name", get("X-\x00: a", alice), 400)
	add("space before the colon", get("Authorization : Token "+s.AliceToken), 400)
	// Obsolete line folding: Go's server unfolds it, as RFC 9112 allows.
	add("folded header", get(auth("Token"), " "+s.AliceToken), 200)
	add("NUL in the path", raw("GET /api/protected/\x00 HTTP/1.1", []string{alice}, ""), 400)
	add("control byte in the method", raw("G\x01T /api/protected/ HTTP/1.1", []string{alice}, ""), 400)
	add("no Host", "GET /api/protected/ HTTP/1.1\r\n"+alice+"\r\nConnection: close\r\n\r\n", 400)
	add("HTTP/0.9", "GET /api/protected/\r\n\r\n", 400, noResponse)
	addHangUp("truncated headers", "GET /api/protected/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthoriz", noResponse, 400)

	// Bodies. The login endpoint reads them; the others must ignore them.
	big := strings.Repeat("a", 10<<20)
	const boundary = "XyZzY"
	multipartType := "multipart/form-data; boundary=" + boundary
	// Nested as deep as each endpoint's body limit allows, and deeper.
	deepArray := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	deepObject := func(depth int) string {
		return `{"username": ` + strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth) + `, "password": "x"}`
	}
	for _, ep := range []struct {
		path  string
		limit int
	}{{"/api-token-auth/", 64 << 10}} {
		path := ep.path
		add(fmt.Sprintf("%s %d-deep JSON array", path, ep.limit/2-1), post(path, "application/json", deepArray(ep.limit/2-1)), 400)
		add(fmt.Sprintf("%s %d-deep JSON object", path, (ep.limit-64)/6), post(path, "application/json", deepObject((ep.limit-64)/6)), 400)
		add(path+" 100000-deep JSON array", post(path, "application/json", deepArray(100000)), 413)
		add(path+" 10 MiB JSON", post(path, "application/json", `{"username": "`+big+`", "password": "x"}`), 413)
		add(path+" 10 MiB form", post(path, "application/x-www-form-urlencoded", "username="+big+"&password=x"), 413)
		add(path+" 10 MiB multipart", post(path, multipartType,
			"--"+boundary+"\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n"+big+"\r\n--"+boundary+"--\r\n"), 413)
		add(path+" 10 MiB without Content-Length", raw("POST "+path+" HTTP/1.1",
			[]string{"Transfer-Encoding: chunked", "Content-Type: application/json"},
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big)), 413)
		add(path+" invalid UTF-8 JSON", post(path, "application/json", "{\"username\": \"\xff\", \"password\": \"\xfe\"}"), 400)
		add(path+" NUL in JSON", post(path, "application/json", `{"username": "alice", "password": "pass\u0000word"}`), 400)
		add(path+" JSON not an object", post(path, "application/json", `"alice"`), 400)
		add(path+" truncated JSON", post(path, "application/json", `{"username": "ali`), 400)
		add(path+" truncated form", post(path, "application/x-www-form-urlencoded", "username=al%"), 400)
		addHangUp(path+" body shorter than Content-Length", raw("POST "+path+" HTTP/1.1",
			[]string{"Content-Length: 1000", "Content-Type: application/json"}, `{"username": "alice"`), 400)
		add(path+" Content-Length and Transfer-Encoding", raw("POST "+path+" HTTP/1.1",
			[]string{"Content-Length: 3", "Transfer-Encoding: chunked", "Content-Type: application/json"}, "3\r\n{}}\r\n0\r\n\r\n"), 400)
		add(path+" negative Content-Length", raw("POST "+path+" HTTP/1.1", []string{"Content-Length: -1"}, ""), 400)
		add(path+" bad chunk size", raw("POST "+path+" HTTP/1.1",
			[]string{"Transfer-Encoding: chunked", "Content-Type: application/json"}, "zz\r\n{}\r\n0\r\n\r\n"), 400)
		for _, ct := range []string{"text/plain", "application/xml", "application/json; charset=utf-16", "application/json; charset=latin-1",
			"multipart/mixed; boundary=x", "garbage/;;;=", "application/x-www-form-urlencoded\x7f", "\xff/\xfe"} {
			add(fmt.Sprintf("%s Content-Type %q", path, ct), post(path, ct, `{"username": "alice", "password": "password"}`), 400, 415)
		}
		add(path+" no Content-Type", post(path, "", `{"username": "alice", "password": "password"}`), 415)
	}
	login := "/api-token-auth/"
	part := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice"
	add("login: truncated multipart", post(login, multipartType, part), 400)
	add("login: multipart without its closing boundary", post(login, multipartType, part+"\r\n"), 400)
	add("login: multipart without a boundary", post(login, "multipart/form-data", part), 400)
	add("login: multipart with a huge part header", post(login, multipartType,
		"--"+boundary+"\r\nContent-Disposition: form-data; name=\""+strings.Repeat("u", 60<<10)+"\"\r\n\r\nx\r\n--"+boundary+"--\r\n"), 400)
	add("login: 10000 multipart parts", post(login, multipartType,
		strings.Repeat("--"+boundary+"\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\r\n", 10000)+"--"+boundary+"--\r\n"), 400, 413)
	add("protected: 10 MiB body ignored", raw("GET /api/protected/ HTTP/1.1",
		[]string{alice, fmt.Sprintf("Content-Length: %d", len(big))}, big), 200)
	add("logout: 10 MiB body, no token", post("/api/logout/", "application/json", big), 401)
	for _, path := range []string{"/api-token-auth/", "/api/logout/", "/api/logoutall/"} {
		add("PUT "+path, raw("PUT "+path+" HTTP/1.1", []string{"Content-Length: 2"}, "{}"), 401, 405)
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := exchange(t, addr, strings.NewReader(tt.request), tt.hangUp)
			assert.Less(t, status, 500)
			assert.Contains(t, tt.want, status)
		})
	}

	t.Run("keys of every wrong length", func(t *testing.T) {
		// Alice's key with its last character changed: no prefix of it,
		// nor the whole, is a key.
		last := byte('a')
		if strings.HasSuffix(s.AliceToken, "a") {
			last = 'b'
		}
		wrong := s.AliceToken[:len(s.AliceToken)-1] + string(last)
		long := strings.Repeat(wrong, 3)
		for n := 0; n <= 100; n++ {
			for _, path := range []string{"/api/protected/", "/api/public/"} {
				r := s.Request(t, http.MethodGet, path, long[:n], "")
				want := http.StatusUnauthorized
				if n == 0 && path == "/api/public/" {
					want = http.StatusOK // no key: anonymous
				}
				assert.Equal(t, want, r.Status, "a %d-character key on %s", n, path)
			}
		}
	})

	// Still serving, and nothing panicked.
	r := s.Request(t, http.MethodGet, "/api/protected/", s.AliceToken, "")
	assert.Equal(t, http.StatusOK, r.Status, "alice's key after the onslaught")
	r = s.Request(t, http.MethodPost, "/api-token-auth/", "", "username=alice&password=password")
	assert.Equal(t, http.StatusOK, r.Status, "alice logs in after the onslaught")
	assert.NotContains(t, s.Logs(), "panic")
	assert.NotRegexp(t, `status=5\d\d`, s.Logs())
}
