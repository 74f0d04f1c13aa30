package faultproxy_test

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/go-tokenauth/tokenauth/internal/faultproxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoServer echoes each line back.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && line != "ping\n" {
		return io.ErrUnexpectedEOF
	}
	return err
}

func TestProxy(t *testing.T) {
	p, err := faultproxy.New(echoServer(t))
	require.NoError(t, err)
	defer p.Close()

	require.NoError(t, roundTrip(p.Addr(), time.Second))

	// An open connection dies when the link is cut.
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("a\n"))
	require.NoError(t, err)
	_, err = bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	p.Cut()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, err = c.Read(make([]byte, 1))
	assert.Error(t, err, "connection survived a cut")
	assert.Error(t, roundTrip(p.Addr(), time.Second), "new connection passed a cut link")

	p.Blackhole()
	start := time.Now()
	assert.Error(t, roundTrip(p.Addr(), 200*time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "a black hole makes clients wait")

	p.Restore()
	require.NoError(t, roundTrip(p.Addr(), time.Second))

	p.SetLatency(50 * time.Millisecond)
	start = time.Now()
	require.NoError(t, roundTrip(p.Addr(), time.Second))
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "latency applies both ways")
	p.SetLatency(0)
}

// A frozen proxy keeps connections open but moves no byte; what was sent
// meanwhile arrives after Restore.
func TestProxyFreeze(t *testing.T) {
	p, err := faultproxy.New(echoServer(t))
	require.NoError(t, err)
	defer p.Close()

	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	r := bufio.NewReader(c)
	_, err = c.Write([]byte("before\n"))
	require.NoError(t, err)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "before\n", line)

	p.Freeze()
	_, err = c.Write([]byte("during\n"))
	require.NoError(t, err, "a frozen link still takes writes")
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = r.ReadString('\n')
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "no answer while frozen, and no hang-up either")
	start := time.Now()
	assert.Error(t, roundTrip(p.Addr(), 200*time.Millisecond), "a new connection waits too")
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	p.Restore()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	line, err = r.ReadString('\n')
	require.NoError(t, err, "the connection survived the freeze")
	assert.Equal(t, "during\n", line)
	require.NoError(t, roundTrip(p.Addr(), time.Second))
}
