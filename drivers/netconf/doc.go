// Package netconf discovers devices over NETCONF (RFC 6241) on the SSH
// "netconf" subsystem (RFC 6242). It uses github.com/Juniper/go-netconf's
// Session and RPC types over our own framing transport: go-netconf
// v0.3.1 writes base:1.1 chunks but does not decode them on receive (the
// chunk headers stay in the XML and a reply split into several chunks
// fails to parse), and its session setup ignores hello errors. Framing
// here does end-of-message (base:1.0) and chunked (base:1.1) both ways.
//
// From the server's hello capabilities it picks Junos native RPCs,
// OpenConfig or IETF models and maps any of them into the same
// drivers.Device as the CLI path. ietf-interfaces state is read both from
// /interfaces (RFC 8343, NMDA) and /interfaces-state (RFC 7223). IPv6
// link-local addresses are not reported (see drivers/ssh).
package netconf
