package grpcsink

import (
	"net"
	"syscall"
)

// quickAck re-arms TCP_QUICKACK after every read on a proxy tunnel.
//
// Why: common CONNECT proxies (tinyproxy; squid without tcp_nodelay) relay
// with Nagle on. Diode's answer (HEADERS, DATA, trailers, PING ack) leaves
// the server as several small writes; the proxy forwards the first and
// Nagle holds the rest until we ACK it, and Linux delays that ACK by
// ~40 ms. Every request through such a proxy waited ~40 ms for its
// trailers (measured: 56 ms vs 15 ms direct per 1000-entity request).
// Quick-ack mode is not sticky in Linux, hence once per read.
func quickAck(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAckConn{Conn: c, rc: rc}
	q.arm()
	return q
}

type quickAckConn struct {
	net.Conn
	rc syscall.RawConn
}

func (c *quickAckConn) arm() {
	_ = c.rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

// SyscallConn keeps the socket reachable for grpc-go (channelz, TCP user
// timeout) through the wrapper.
func (c *quickAckConn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.arm()
	}
	return n, err
}

// quickAckActive reports whether c is a tunnel with quick-ack re-arming (tests).
func quickAckActive(c net.Conn) bool {
	for {
		switch v := c.(type) {
		case *quickAckConn:
			return true
		case *bufConn:
			c = v.Conn
		case interface{ NetConn() net.Conn }: // *tls.Conn
			c = v.NetConn()
		default:
			return false
		}
	}
}
