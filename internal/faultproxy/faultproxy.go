package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy is a TCP proxy for outage tests: put it between a service and its
// database, then cut the link, black-hole it or slow it down while the
// service is under load, and restore it.
//
//	p, err := faultproxy.New("127.0.0.1:5432")
//	defer p.Close()
//	db := open("postgres://postgres@" + p.Addr() + "/test")
//	p.Cut()     // every connection drops, new ones are refused
//	p.Restore() // traffic flows again
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	thawed  *sync.Cond // signalled when the proxy leaves modeFrozen or closes
	mode    proxyMode
	latency time.Duration
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

type proxyMode int

const (
	modeUp proxyMode = iota
	modeCut
	modeBlackhole
	modeFrozen
)

// New starts a proxy on a free loopback port that forwards to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.thawed = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port, to use in place of the target's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut drops every open connection and refuses new ones (they are closed at
// once), as when a database server goes down.
func (p *Proxy) Cut() { p.setMode(modeCut) }

// Blackhole drops every open connection; new ones are accepted but nothing
// is ever forwarded, as when packets are lost: clients wait until their own
// timeouts fire.
func (p *Proxy) Blackhole() { p.setMode(modeBlackhole) }

// Freeze stops all traffic but drops nothing: open connections stay open
// and new ones are accepted, but no byte moves until Restore, as when a
// database server hangs (a lock, a full disk, a paused VM). Clients wait
// until their own timeouts fire; what they sent meanwhile arrives after
// Restore.
func (p *Proxy) Freeze() { p.setMode(modeFrozen) }

// Restore lets traffic through again.
func (p *Proxy) Restore() { p.setMode(modeUp) }

// SetLatency delays every chunk of data forwarded in either direction by
// d, simulating a slow database. Zero removes the delay.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

func (p *Proxy) setMode(m proxyMode) {
	p.mu.Lock()
	p.mode = m
	if m == modeCut || m == modeBlackhole {
		for c := range p.conns {
			c.Close()
		}
	}
	p.thawed.Broadcast()
	p.mu.Unlock()
}

// waitThawed blocks while the proxy is frozen; it reports false once the
// proxy is closed.
func (p *Proxy) waitThawed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.mode == modeFrozen && !p.closed {
		p.thawed.Wait()
	}
	return !p.closed
}

// Close stops the proxy and drops every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.thawed.Broadcast()
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

// track registers c; it reports false (and closes c) when the proxy is
// closed or not passing traffic.
func (p *Proxy) track(c net.Conn) (proxyMode, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return 0, false
	}
	p.conns[c] = struct{}{}
	return p.mode, true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

func (p *Proxy) serve(client net.Conn) {
	mode, ok := p.track(client)
	if !ok {
		return
	}
	switch mode {
	case modeCut:
		p.untrack(client)
		return
	case modeBlackhole:
		// Hold the connection open until the proxy changes mode or
		// closes; read and discard so the client's writes succeed.
		_, _ = io.Copy(io.Discard, client)
		p.untrack(client)
		return
	}
	if !p.waitThawed() {
		p.untrack(client)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.untrack(client)
		return
	}
	if _, ok := p.track(server); !ok {
		p.untrack(client)
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done
	p.untrack(client, server)
	<-done
}

// pipe copies src to dst, applying the current latency to each chunk.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitThawed() {
				return
			}
			p.mu.Lock()
			d := p.latency
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
