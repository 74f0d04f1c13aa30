package introspection

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/go-tokenauth/tokenauth"
)

// RevocationHandler returns the RFC 7009 endpoint: a POST of token=<key>
// (a form body) revokes the token through the Authenticator, so that the
// revocation reaches every replica as any other does, and gets 200 with
// an empty body. The token's own holder may revoke it (the same token in
// the Authorization header and the body), and so may a caller that could
// introspect it (see IntrospectionHandler); anyone else gets 401
// {"error":"invalid_client"}.
//
// A key that is unknown, malformed, expired or already revoked also gets
// 200 (RFC 7009 §2.2): revoking is idempotent. When the store cannot
// answer, the caller gets 503 with Retry-After (RFC 7009 §2.2.1), never
// 200, so that it knows to try again: ory/fosite answers 200 then, and
// the token lives on.
//
// An authenticated caller revokes any stored token, whatever its state
// (Authenticator.RevokeKey): an expired one, or one whose user the
// UserLoader refuses today.
func (s *Server) RevocationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, key, p, ok := s.serve(w, r, false)
		var err error
		switch {
		case !ok:
			return
		case c.privileged:
			_, err = s.auth.RevokeKey(r.Context(), key)
		case p.Token == nil && c.token != nil && presented(r, key):
			// The holder's own token, which Verify cannot see as active
			// from here (its address lists need the request's address):
			// the caller authenticated with it, so it is theirs.
			err = s.auth.Revoke(r.Context(), c.token.ID)
		case p.Token == nil:
			// Not active: the holder has nothing left to revoke.
		case c.token.ID != p.Token.ID:
			err = errUnauthenticated
		default:
			err = s.auth.Revoke(r.Context(), p.Token.ID)
		}
		if err != nil && !errors.Is(err, tokenauth.ErrNotFound) && !errors.Is(err, tokenauth.ErrInvalidToken) {
			s.fail(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// presented reports whether key is the one r's Authorization header
// carries, compared in constant time.
func presented(r *http.Request, key string) bool {
	fields := strings.Fields(r.Header.Get("Authorization"))
	return len(fields) > 0 && subtle.ConstantTimeCompare([]byte(fields[len(fields)-1]), []byte(key)) == 1
}
