package login

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/go-tokenauth/tokenauth"
)

const (
	// deviceCookie is the name of the cookie that proves a device.
	deviceCookie = "tokenauth_device"
	// deviceFor is how long a device cookie proves its device; each
	// successful login from the device sets a new one.
	deviceFor = 90 * 24 * time.Hour
	// deviceMAC is how many bytes of HMAC-SHA256 a cookie carries:
	// forging one takes 2^128 tries.
	deviceMAC = 16
	// deviceNonce is the length of the random device ID.
	deviceNonce = 12
	// minDeviceKey is the shortest Options.DeviceKey accepted.
	minDeviceKey = 32
)

// devices signs and checks device cookies (OWASP's "device cookies"): a
// successful login sets one, bound to the canonical username and signed
// with the host's key, and an attempt that presents a valid one is from a
// device its account's owner has used. The key, not the server's memory,
// makes it valid: it survives restarts, holds on every replica, and no
// flood can make the server forget it.
type devices struct{ key []byte }

// newDevices returns the devices of key, nil for no key.
func newDevices(key []byte) (*devices, error) {
	switch {
	case key == nil:
		return nil, nil
	case len(key) < minDeviceKey:
		return nil, fmt.Errorf("%w: login.Options: DeviceKey must hold at least %d bytes", tokenauth.ErrInvalidOptions, minDeviceKey)
	}
	return &devices{key: bytes.Clone(key)}, nil
}

// id returns the device that a cookie of r proves for username, or "".
func (d *devices) id(r *http.Request, username string, now time.Time) string {
	if d == nil || username == "" {
		return ""
	}
	for _, c := range r.CookiesNamed(deviceCookie) {
		b, err := base64.RawURLEncoding.DecodeString(c.Value)
		if err != nil || len(b) != 8+deviceNonce+deviceMAC {
			continue
		}
		signed := b[:8+deviceNonce]
		if now.Unix() < int64(binary.BigEndian.Uint64(signed)) && hmac.Equal(d.mac(username, signed), b[len(signed):]) {
			return hex.EncodeToString(b[8 : 8+deviceNonce])
		}
	}
	return ""
}

// remember sets a cookie on w that proves this device for username: a new
// device ID each time, so that a stolen cookie and the owner's next one
// have budgets apart.
func (d *devices) remember(w http.ResponseWriter, username string, now time.Time) {
	if d == nil || username == "" {
		return
	}
	b := make([]byte, 8+deviceNonce, 8+deviceNonce+deviceMAC)
	binary.BigEndian.PutUint64(b, uint64(now.Add(deviceFor).Unix()))
	_, _ = rand.Read(b[8:]) // never fails
	b = append(b, d.mac(username, b)...)
	http.SetCookie(w, &http.Cookie{
		Name:     deviceCookie,
		Value:    base64.RawURLEncoding.EncodeToString(b),
		Path:     "/",
		MaxAge:   int(deviceFor / time.Second),
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// mac is the signature of a cookie's expiry and device ID for username.
func (d *devices) mac(username string, signed []byte) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte("tokenauth/login device cookie\x00"))
	m.Write(signed)
	m.Write([]byte(username))
	return m.Sum(nil)[:deviceMAC]
}
