package adaptertest

import "net/http"

// denied is Django REST Framework's 401: the detail, the challenge, and
// nothing about the routes (no Allow header).
func denied(detail string) want {
	return want{http.StatusUnauthorized, `{"detail":"` + detail + `"}`, "Token", "-"}
}

const (
	noCredentials = "Authentication credentials were not provided."
	invalidToken  = "Invalid token."
	userInactive  = "User inactive or deleted."
)

var (
	okAlice   = want{http.StatusOK, `{"message":"ok","user":"1","ctx_user":"1","username":"alice"}`, "-", ""}
	forbidden = want{http.StatusForbidden, `{"detail":"You do not have permission to perform this action."}`, "-", "-"}
	anonymous = want{http.StatusOK, `{"message":"public","user":""}`, "-", ""}
)

// protectedCases is DRF's table for a protected endpoint
// (TokenAuthentication + IsAuthenticated) and a public one.
var protectedCases = []requestCase{
	{"no header", "GET", "/api/protected/", "-", denied(noCredentials)},
	{"empty header", "GET", "/api/protected/", "", denied(noCredentials)},
	{"other scheme", "GET", "/api/protected/", "Bearer ALICE", denied(noCredentials)},
	{"basic auth", "GET", "/api/protected/", "Basic YWxpY2U6cGFzc3dvcmQ=", denied(noCredentials)},
	{"keyword alone", "GET", "/api/protected/", "Token", denied("Invalid token header. No credentials provided.")},
	{"keyword and spaces", "GET", "/api/protected/", "Token   ", denied("Invalid token header. No credentials provided.")},
	{"key with spaces", "GET", "/api/protected/", "Token foo bar", denied("Invalid token header. Token string should not contain spaces.")},
	{"key not UTF-8", "GET", "/api/protected/", "Token \xff\xfe\xfd", denied("Invalid token header. Token string should not contain invalid characters.")},
	{"unknown key", "GET", "/api/protected/", "Token tka_0000000000000000000000000000000000000000000000000", denied(invalidToken)},
	{"garbage key", "GET", "/api/protected/", "Token not-a-token", denied(invalidToken)},
	{"legacy key not accepted", "GET", "/api/protected/", "Token 0123456789abcdef0123456789abcdef01234567", denied(invalidToken)},
	{"inactive user", "GET", "/api/protected/", "Token BOB", denied(userInactive)},
	{"valid", "GET", "/api/protected/", "Token ALICE", okAlice},
	{"lower-case keyword", "GET", "/api/protected/", "token ALICE", okAlice},
	{"upper-case keyword", "GET", "/api/protected/", "TOKEN ALICE", okAlice},
	{"two spaces", "GET", "/api/protected/", "Token  ALICE", okAlice},
	{"tab", "GET", "/api/protected/", "Token\tALICE", okAlice},
	{"surrounding spaces", "GET", "/api/protected/", "  Token ALICE  ", okAlice},
	{"path parameter", "GET", "/api/items/42/", "Token ALICE", want{200, `{"id":"42","user":"1"}`, "-", ""}},
	{"scope missing", "GET", "/api/scoped/", "Token ALICE", forbidden},
	{"scope missing, no header", "GET", "/api/scoped/", "-", denied(noCredentials)},
	{"public, anonymous", "GET", "/api/public/", "-", anonymous},
	{"public, other scheme", "GET", "/api/public/", "Basic YWxpY2U6cGFzc3dvcmQ=", anonymous},
	{"public, valid", "GET", "/api/public/", "Token ALICE", want{200, `{"message":"public","user":"1"}`, "-", ""}},
	{"public, keyword alone", "GET", "/api/public/", "Token", denied("Invalid token header. No credentials provided.")},
	{"public, key with spaces", "GET", "/api/public/", "Token a b", denied("Invalid token header. Token string should not contain spaces.")},
	{"public, unknown key", "GET", "/api/public/", "Token nope", denied(invalidToken)},
	{"public, inactive user", "GET", "/api/public/", "Token BOB", denied(userInactive)},
}
