package netconf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	gonetconf "github.com/Juniper/go-netconf/netconf"
	xssh "golang.org/x/crypto/ssh"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/ssh"
)

// Params are one NETCONF discovery. Conn.Port defaults to 830.
type Params struct {
	ssh.Conn
	CaptureConfig bool
}

// Model families, chosen from the hello capabilities.
const (
	ModelJunos      = "junos"
	ModelOpenConfig = "openconfig"
	ModelIETF       = "ietf"
)

// HelloSettle is the pause between our hello and the first chunked RPC.
const HelloSettle = 50 * time.Millisecond

// Client is an open NETCONF session.
type Client struct {
	Capabilities []string
	SessionID    int
	sess         *gonetconf.Session
	fr           *Framer
	client       *xssh.Client
	stop         func() bool
}

// Open dials, starts the netconf subsystem and exchanges hellos. The
// session is closed when ctx ends.
func Open(ctx context.Context, c ssh.Conn) (*Client, error) {
	if c.Port == 0 {
		c.Port = 830
	}
	cl, err := ssh.Dial(ctx, c)
	if err != nil {
		return nil, err
	}
	stop := ssh.CloseOnDone(ctx, cl)
	fail := func(err error) (*Client, error) {
		stop()
		cl.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	s, err := cl.NewSession()
	if err != nil {
		return fail(fmt.Errorf("netconf session: %w", err))
	}
	if err := s.RequestSubsystem("netconf"); err != nil {
		return fail(fmt.Errorf("netconf subsystem: %w", err))
	}
	w, err := s.StdinPipe()
	if err != nil {
		return fail(err)
	}
	r, err := s.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	fr := NewFramer(r, w, s)
	hello, err := fr.ReceiveHello()
	if err != nil {
		return fail(err)
	}
	if err := fr.SendHello(&gonetconf.HelloMessage{Capabilities: gonetconf.DefaultCapabilities}); err != nil {
		return fail(fmt.Errorf("netconf hello: %w", err))
	}
	for _, c := range hello.Capabilities {
		if strings.TrimSpace(c) == "urn:ietf:params:netconf:base:1.1" {
			fr.SetVersion("v1.1")
		}
	}
	if fr.Chunked() {
		// yuma123 netconfd (and others built on it) parse a chunked RPC
		// that arrives in the same read as our hello with the old
		// end-of-message framing and never answer it. Let the hello land
		// alone first.
		t := time.NewTimer(HelloSettle)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fail(ctx.Err())
		}
	}
	sess := &gonetconf.Session{Transport: fr, SessionID: hello.SessionID, ServerCapabilities: hello.Capabilities}
	return &Client{Capabilities: hello.Capabilities, SessionID: hello.SessionID, sess: sess, fr: fr, client: cl, stop: stop}, nil
}

// Chunked reports whether the session uses base:1.1 chunked framing.
func (c *Client) Chunked() bool { return c.fr.Chunked() }

// Close ends the session politely and closes the connection.
func (c *Client) Close() error {
	c.stop()
	_ = c.fr.Send([]byte(`<rpc message-id="close" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><close-session/></rpc>`))
	return c.client.Close()
}

// ErrRPC is wrapped by Exec when the server answered with an rpc-error
// (as opposed to a broken session).
var ErrRPC = errors.New("rpc error")

// Exec runs one RPC body (the element inside <rpc>) and returns the reply tree.
func (c *Client) Exec(rpc string) (*ssh.Node, error) {
	reply, err := c.sess.Exec(gonetconf.RawMethod(rpc))
	if err != nil {
		var re *gonetconf.RPCError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("%w: %s %s: %s", ErrRPC, re.Tag, re.Type, strings.TrimSpace(re.Message))
		}
		return nil, err
	}
	root, err := ssh.ParseXMLTree(bytes.NewReader([]byte(reply.RawReply)))
	if err != nil {
		return nil, err
	}
	return root.Child("rpc-reply"), nil
}

// Get runs <get> with a subtree filter and returns the <data> node.
func (c *Client) Get(filter string) (*ssh.Node, error) {
	r, err := c.Exec(`<get><filter type="subtree">` + filter + `</filter></get>`)
	if err != nil {
		return nil, err
	}
	return r.Child("data"), nil
}

// Capabilities opens a session only to read the server's hello.
func Capabilities(ctx context.Context, c ssh.Conn) ([]string, error) {
	cl, err := Open(ctx, c)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Capabilities, nil
}

// PickModel names the model family to query for these capabilities.
func PickModel(caps []string) string {
	has := func(s string) bool {
		for _, c := range caps {
			if strings.Contains(c, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("http://xml.juniper.net/netconf/junos"), has("http://xml.juniper.net/junos"):
		return ModelJunos
	case has("http://openconfig.net/yang/interfaces"), has("http://openconfig.net/yang/system"):
		return ModelOpenConfig
	case has("urn:ietf:params:xml:ns:yang:ietf-system"), has("urn:ietf:params:xml:ns:yang:ietf-interfaces"):
		return ModelIETF
	}
	return ""
}

// Discover opens a session, picks the model family from the hello and
// maps what the device returns into a Device.
func Discover(ctx context.Context, p Params) (*drivers.Device, error) {
	c, err := Open(ctx, p.Conn)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	model := PickModel(c.Capabilities)
	var d *drivers.Device
	switch model {
	case ModelJunos:
		d, err = discoverJunos(c, p.CaptureConfig)
	case ModelOpenConfig:
		d, err = discoverOpenConfig(c, p.CaptureConfig)
	case ModelIETF:
		d, err = discoverIETF(c, p.CaptureConfig)
	default:
		return nil, fmt.Errorf("netconf: server announces no Junos, OpenConfig or IETF system/interfaces model (%d capabilities)", len(c.Capabilities))
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("netconf %s: %w (%v)", model, ctx.Err(), err)
		}
		return nil, fmt.Errorf("netconf %s: %w", model, err)
	}
	if a, err := netip.ParseAddr(p.Host); err == nil {
		d.MgmtAddress = a
	}
	return d, nil
}

func hasCap(caps []string, ns string) bool {
	for _, c := range caps {
		if strings.HasPrefix(c, ns) {
			return true
		}
	}
	return false
}

func discoverJunos(c *Client, capture bool) (*drivers.Device, error) {
	sw, err := c.Exec("<get-software-information/>")
	if err != nil {
		return nil, fmt.Errorf("get-software-information: %w", err)
	}
	ifs, err := c.Exec("<get-interface-information/>")
	if err != nil {
		return nil, fmt.Errorf("get-interface-information: %w", err)
	}
	ch, err := c.Exec("<get-chassis-inventory/>")
	if err != nil {
		return nil, fmt.Errorf("get-chassis-inventory: %w", err)
	}
	up, err := c.Exec("<get-system-uptime-information/>")
	if err != nil && !errors.Is(err, ErrRPC) {
		return nil, fmt.Errorf("get-system-uptime-information: %w", err)
	}
	d, err := ssh.JunosDevice(sw, ifs, ch)
	if err != nil {
		return nil, err
	}
	d.Uptime = ssh.JunosUptime(up) // optional: an rpc-error leaves it 0
	if capture {
		r, err := c.Exec(`<get-configuration format="text"/>`)
		if err != nil {
			return nil, fmt.Errorf("get-configuration: %w", err)
		}
		d.Config = ssh.MaskSecrets(strings.TrimSpace(r.Str("configuration-text")))
	}
	return d, nil
}

func captureRunning(c *Client, d *drivers.Device) error {
	r, err := c.Exec(`<get-config><source><running/></source></get-config>`)
	if err != nil {
		return fmt.Errorf("get-config: %w", err)
	}
	var b strings.Builder
	renderXML(&b, r.Child("data"), 0)
	d.Config = ssh.MaskSecrets(b.String())
	return nil
}

// renderXML prints a tree as indented "name value" lines: readable,
// diffable, and in a shape MaskSecrets understands.
func renderXML(b *strings.Builder, n *ssh.Node, depth int) {
	if n == nil {
		return
	}
	for _, k := range n.Kids {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(k.Name)
		if len(k.Kids) == 0 {
			if t := strings.TrimSpace(k.Text); t != "" {
				b.WriteString(" " + t)
			}
			b.WriteString("\n")
			continue
		}
		b.WriteString("\n")
		renderXML(b, k, depth+1)
	}
}
