package introspection

import "net/http"

// IntrospectionHandler returns the RFC 7662 endpoint: a POST of
// token=<key> (a form body) by an authenticated caller gets 200 and the
// token's state:
//
//	{"active":true,"scope":"read write","token_type":"Token","exp":1767225600,"iat":1764633600,"sub":"42","jti":"5YbD…"}
//
// or exactly {"active":false} for a key that is unknown, malformed,
// expired or revoked, or whose user the Authenticator's UserLoader
// refuses. "exp" is absent for a token that never expires; "username"
// appears with Options.Username. An answer is checked at the time of the
// request: a token revoked later goes on working wherever the answer is
// cached.
//
// The caller authenticates with HTTP Basic (Options.Clients) or with a
// token carrying Options.Scope; anyone else, and a caller introspecting
// the very token it authenticated with, gets 401 {"error":"invalid_client"}
// and a challenge per scheme (RFC 6749 §5.2, RFC 7662 §2.3). When the
// store cannot answer, the caller gets 503 with Retry-After, never
// {"active":false}: a gateway must not take a good token for a revoked
// one. Checking a token records a use of it, as a request to the service
// would.
func (s *Server) IntrospectionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, p, ok := s.serve(w, r, true)
		switch {
		case !ok:
			return
		case p.Token == nil:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(inactive))
			return
		case c.token != nil && c.token.ID == p.Token.ID:
			// As ory/fosite does: a token vouching for itself proves
			// nothing.
			s.fail(w, errUnauthenticated)
			return
		}
		answer := claimsOf(p.Token, s.opts.Keyword)
		if s.opts.Username != nil {
			var err error
			if answer.Username, err = s.opts.Username(r.Context(), p); err != nil {
				s.fail(w, s.failure(r.Context(), "username", err))
				return
			}
		}
		writeJSON(w, http.StatusOK, answer)
	})
}
