// Package netconftest is an in-process NETCONF-over-SSH server (RFC 6241,
// RFC 6242) for tests and the demo lab. It answers RPCs from testdata
// profiles (Junos native RPCs; OpenConfig and IETF <get> subtrees), with
// end-of-message (base:1.0) or chunked (base:1.1) framing. Its framing
// code is independent of drivers/netconf so the two check each other.
package netconftest

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/orbd/orbd/internal/sshserver"
)

//go:embed testdata
var testdata embed.FS

// Device configures one emulated NETCONF server.
type Device struct {
	Profile  string // testdata/<profile>: capabilities.txt and <rpc>.xml replies
	Username string // default "admin"
	Password string
	// Base11 announces urn:ietf:params:netconf:base:1.1, so a client that
	// also does switches to chunked framing.
	Base11 bool
	// ChunkSize splits chunked replies (default 1000 bytes: several
	// chunks per reply exercise the client's reassembly).
	ChunkSize int
	HostKey   xssh.Signer
	// Delay is added before every reply.
	Delay time.Duration
}

// Server is a running NETCONF server.
type Server struct {
	Addr    string
	HostKey xssh.PublicKey
	srv     *sshserver.Server
	dev     Device
	caps    []string
	// RPCs counts the RPCs answered, by element name (tests assert which
	// model family the client chose).
	rpcMu sync.Mutex
	rpcs  map[string]int
}

// Start listens on a loopback addr and serves dev until Close.
func Start(addr string, dev Device) (*Server, error) {
	capsRaw, err := testdata.ReadFile("testdata/" + dev.Profile + "/capabilities.txt")
	if err != nil {
		return nil, fmt.Errorf("netconftest: profile %q: %w", dev.Profile, err)
	}
	caps := []string{"urn:ietf:params:netconf:base:1.0"}
	if dev.Base11 {
		caps = append(caps, "urn:ietf:params:netconf:base:1.1")
	}
	for _, l := range strings.Split(string(capsRaw), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			caps = append(caps, l)
		}
	}
	if dev.Username == "" {
		dev.Username = "admin"
	}
	if dev.ChunkSize <= 0 {
		dev.ChunkSize = 1000
	}
	s := &Server{dev: dev, caps: caps, rpcs: map[string]int{}}
	srv, err := sshserver.Start(addr, sshserver.Config{
		Name: "netconftest", Username: dev.Username, Password: dev.Password, HostKey: dev.HostKey,
		Request: func(typ string, payload []byte) (ok, start bool) {
			// RFC 4254 subsystem request: a uint32 length, then the name
			sub := typ == "subsystem" && len(payload) > 4 && string(payload[4:]) == "netconf"
			return sub, sub
		},
		Session: s.session,
	})
	if err != nil {
		return nil, err
	}
	s.srv, s.Addr, s.HostKey = srv, srv.Addr, srv.HostKey
	return s, nil
}

// Port is the listening TCP port.
func (s *Server) Port() int { return s.srv.Port() }

// RPCCount returns how many times an RPC (or "get:<subtree>") was answered.
func (s *Server) RPCCount(name string) int {
	s.rpcMu.Lock()
	defer s.rpcMu.Unlock()
	return s.rpcs[name]
}

// Close stops the server and waits for its sessions.
func (s *Server) Close() error { return s.srv.Close() }

const eom = "]]>]]>"

type conn struct {
	r       *bufio.Reader
	w       io.Writer
	chunked bool
	chunk   int
}

func (c *conn) readEOM() ([]byte, error) {
	var out []byte
	for {
		b, err := c.r.ReadBytes('>')
		out = append(out, b...)
		if bytes.HasSuffix(out, []byte(eom)) {
			return out[:len(out)-len(eom)], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *conn) readChunked() ([]byte, error) {
	var out []byte
	for {
		hdr, err := c.r.ReadString('\n') // the leading LF
		if err != nil {
			return nil, err
		}
		if hdr != "\n" {
			return nil, fmt.Errorf("bad chunk start %q", hdr)
		}
		hdr, err = c.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		hdr = strings.TrimSuffix(hdr, "\n")
		if hdr == "##" {
			return out, nil
		}
		n, err := strconv.Atoi(strings.TrimPrefix(hdr, "#"))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad chunk header %q", hdr)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		out = append(out, buf...)
	}
}

func (c *conn) read() ([]byte, error) {
	if c.chunked {
		return c.readChunked()
	}
	return c.readEOM()
}

func (c *conn) write(b []byte) error {
	if !c.chunked {
		_, err := c.w.Write(append(b, eom...))
		return err
	}
	var buf bytes.Buffer
	for len(b) > 0 {
		n := min(c.chunk, len(b))
		fmt.Fprintf(&buf, "\n#%d\n", n)
		buf.Write(b[:n])
		b = b[n:]
	}
	buf.WriteString("\n##\n")
	_, err := c.w.Write(buf.Bytes())
	return err
}

type hello struct {
	Capabilities []string `xml:"capabilities>capability"`
}

func (s *Server) session(ch xssh.Channel, closed <-chan struct{}) {
	c := &conn{r: bufio.NewReader(ch), w: ch, chunk: s.dev.ChunkSize}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>`)
	for _, cp := range s.caps {
		b.WriteString("<capability>")
		xml.EscapeText(&b, []byte(cp))
		b.WriteString("</capability>")
	}
	b.WriteString(`</capabilities><session-id>4711</session-id></hello>`)
	if c.write([]byte(b.String())) != nil {
		return
	}
	raw, err := c.readEOM()
	if err != nil {
		return
	}
	var h hello
	if xml.Unmarshal(raw, &h) != nil {
		return
	}
	for _, cp := range h.Capabilities {
		if cp == "urn:ietf:params:netconf:base:1.1" && s.dev.Base11 {
			c.chunked = true
		}
	}
	for {
		msg, err := c.read()
		if err != nil {
			return
		}
		reply, closeAfter := s.answer(msg)
		if s.dev.Delay > 0 {
			t := time.NewTimer(s.dev.Delay)
			select {
			case <-t.C:
			case <-closed:
				t.Stop()
				return
			}
		}
		if c.write(reply) != nil || closeAfter {
			return
		}
	}
}

// rpcNode is enough of an <rpc> to route it.
type rpcNode struct {
	MessageID string `xml:"message-id,attr"`
	Body      struct {
		XMLName xml.Name
		Filter  struct {
			Inner []byte `xml:",innerxml"`
		} `xml:"filter"`
	} `xml:",any"`
}

func (s *Server) answer(msg []byte) (reply []byte, closeAfter bool) {
	var r rpcNode
	if err := xml.Unmarshal(msg, &r); err != nil {
		return rpcError("", "malformed-message", err.Error()), false
	}
	name := r.Body.XMLName.Local
	key := name
	if name == "get" {
		var first struct{ XMLName xml.Name }
		dec := xml.NewDecoder(bytes.NewReader(r.Body.Filter.Inner))
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if se, ok := tok.(xml.StartElement); ok {
				first.XMLName = se.Name
				break
			}
		}
		key = "get__" + first.XMLName.Local
	}
	s.rpcMu.Lock()
	s.rpcs[key]++
	s.rpcMu.Unlock()
	head := fmt.Sprintf(`<rpc-reply message-id="%s" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:junos="http://xml.juniper.net/junos/21.2R0/junos">`, xmlAttr(r.MessageID))
	if name == "close-session" {
		return []byte(head + "<ok/></rpc-reply>"), true
	}
	body, err := testdata.ReadFile("testdata/" + s.dev.Profile + "/" + key + ".xml")
	if err != nil {
		return rpcError(r.MessageID, "operation-not-supported", "no "+key+" in profile "+s.dev.Profile), false
	}
	return []byte(head + string(body) + "</rpc-reply>"), false
}

func rpcError(id, tag, msg string) []byte {
	return []byte(fmt.Sprintf(`<rpc-reply message-id="%s" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><rpc-error><error-type>protocol</error-type><error-tag>%s</error-tag><error-severity>error</error-severity><error-message>%s</error-message></rpc-error></rpc-reply>`,
		xmlAttr(id), tag, xmlAttr(msg)))
}

func xmlAttr(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
