// Package adaptertest is the HTTP suite an adapter for a web framework
// runs to prove that it answers exactly as tokenauth's net/http middleware
// does: Django REST Framework's status codes, bodies and headers, login,
// logout, scopes, expiry, outages, and net/http's 404 and 405.
//
// Hosts do not need it: it is for authors of adapters such as ginauth.
package adaptertest
