//go:build !linux

package grpcsink

import "net"

// quickAck is Linux-only (TCP_QUICKACK); elsewhere the tunnel is used as is.
func quickAck(c net.Conn) net.Conn { return c }

func quickAckActive(net.Conn) bool { return false }
