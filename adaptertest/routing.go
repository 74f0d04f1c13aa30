package adaptertest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// routingCases are the answers of net/http's ServeMux behind
// auth.Require(), which Django REST Framework gives too for a wrong
// method: the group decides on credentials before the router looks for a
// route, so a client without valid ones gets 401 whatever the path or
// method under /api/, and learns nothing of the routes there (no Allow
// header). With valid credentials, an unknown path gets 404 and a path
// routed for other methods 405, with the Allow header RFC 9110 requires.
var routingCases = []requestCase{
	{"no credentials, unknown path", "GET", "/api/nope/", "-", denied(noCredentials)},
	{"no credentials, unknown path without a slash", "GET", "/api/nope", "-", denied(noCredentials)},
	{"no credentials, wrong method", "POST", "/api/protected/", "-", denied(noCredentials)},
	{"no credentials, wrong method on a path parameter", "DELETE", "/api/items/1/", "-", denied(noCredentials)},
	{"no credentials, wrong method on a scoped route", "PUT", "/api/scoped/", "-", denied(noCredentials)},
	{"no credentials, logout by GET", "GET", "/api/logout/", "-", denied(noCredentials)},
	{"bad token, unknown path", "GET", "/api/nope/", "Token tka_bad", denied(invalidToken)},
	{"bad token, wrong method", "DELETE", "/api/items/1/", "Token tka_bad", denied(invalidToken)},
	{"inactive user, wrong method", "POST", "/api/protected/", "Token BOB", denied(userInactive)},
	{"valid, unknown path", "GET", "/api/nope/", "Token ALICE", want{status: http.StatusNotFound, allow: "-"}},
	{"valid, unknown path by POST", "POST", "/api/nope/", "Token ALICE", want{status: http.StatusNotFound, allow: "-"}},
	{"valid, wrong method", "POST", "/api/protected/", "Token ALICE", want{status: http.StatusMethodNotAllowed, allow: "GET"}},
	{"valid, wrong method on a path parameter", "DELETE", "/api/items/1/", "Token ALICE", want{status: http.StatusMethodNotAllowed, allow: "GET"}},
	{"valid, logout by GET", "GET", "/api/logout/", "Token ALICE", want{status: http.StatusMethodNotAllowed, allow: "POST"}},
	{"outside the group, no credentials", "GET", "/nope/", "-", want{status: http.StatusNotFound, challenge: "-", allow: "-"}},
}

// expectAllow checks the Allow header: with method "-" there must be
// none; otherwise it must list method ("" checks nothing).
func expectAllow(t *testing.T, rec *httptest.ResponseRecorder, method string) {
	t.Helper()
	header := strings.Join(rec.Header().Values("Allow"), ", ") // chi sends one header per method
	var allowed []string
	for m := range strings.SplitSeq(header, ",") {
		if m = strings.TrimSpace(m); m != "" {
			allowed = append(allowed, m)
		}
	}
	switch {
	case method == "":
	case method == "-" && header != "":
		t.Errorf("Allow = %q, want none", header)
	case method != "-" && !slices.Contains(allowed, method):
		t.Errorf("Allow = %q, want it to list %s", header, method)
	}
}
