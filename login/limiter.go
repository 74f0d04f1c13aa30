package login

import (
	"context"
	"time"
)

// LimitKey identifies who makes a login attempt.
type LimitKey struct {
	// Addr is the client address, as Options.ClientAddr found it.
	Addr string
	// Username is the username as Options.Canonical folded it: every
	// spelling the host's database takes for one account gives one key.
	// A MemoryLimiter counts a key without one by its address alone,
	// which lets a host throttle another endpoint (sign-up) per address.
	Username string
	// Device, when set, names a device that has proved an earlier
	// successful login to this username (the Handler fills it in from a
	// device cookie; see Options.DeviceKey). A proven device is a trusted
	// client, as a familiar address is: the account's limit for untrusted
	// clients does not hold it up, from any address, so an attack on the
	// account does not lock its owner out. A Limiter must still bound
	// each device's failures, since a device cookie can be stolen.
	Device string
}

// Outcome is how a login attempt that a Limiter let through ended.
type Outcome int

const (
	// Succeeded: the CredentialChecker accepted the credentials.
	Succeeded Outcome = iota + 1
	// Failed: the CredentialChecker refused the credentials.
	Failed
	// Errored: the check failed (an outage, a timeout, a client that hung
	// up), so the attempt says nothing about the client.
	Errored
)

// Limiter throttles login attempts. The handler calls Allow once a
// request's body is valid, before it checks the credentials, and, when
// Allow lets the attempt through, Done exactly once with the outcome.
//
// Allow may wait a little, while ctx lasts, for attempts in flight to end
// rather than refuse at once. Implementations must be safe for concurrent
// use; one shared by several replicas (over Redis, say) implements the
// same two methods.
type Limiter interface {
	// Allow reports whether the attempt may go ahead. When it may not,
	// retryAfter tells the client how long to wait.
	Allow(ctx context.Context, key LimitKey) (retryAfter time.Duration, ok bool)
	// Done reports the outcome of an attempt that Allow let through.
	Done(ctx context.Context, key LimitKey, outcome Outcome)
}

// NoLimit is a Limiter that allows every attempt: set it as
// Options.Limiter to turn throttling off (in tests, or when a proxy in
// front already throttles logins).
var NoLimit Limiter = noLimit{}

type noLimit struct{}

func (noLimit) Allow(context.Context, LimitKey) (time.Duration, bool) { return 0, true }
func (noLimit) Done(context.Context, LimitKey, Outcome)               {}
