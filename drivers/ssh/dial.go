package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	xssh "golang.org/x/crypto/ssh"

	"github.com/orbd/orbd/policies"
)

// Conn are the parameters of one SSH connection.
type Conn struct {
	Host          string
	Port          int // default 22
	Username      string
	Password      policies.Secret
	KeyFile       string
	KeyPassphrase policies.Secret
	// HostKeyCallback checks the server's key; required (see HostKeys).
	HostKeyCallback xssh.HostKeyCallback
}

// Addr is host:port.
func (c Conn) Addr() string {
	port := c.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// ErrAuth is wrapped by Dial when the server refused every credential.
var ErrAuth = errors.New("authentication failed")

func (c Conn) authMethods() ([]xssh.AuthMethod, error) {
	var m []xssh.AuthMethod
	if c.KeyFile != "" {
		pem, err := os.ReadFile(c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("read key_file: %w", err)
		}
		var signer xssh.Signer
		if c.KeyPassphrase.IsSet() {
			signer, err = xssh.ParsePrivateKeyWithPassphrase(pem, []byte(c.KeyPassphrase.Reveal()))
		} else {
			signer, err = xssh.ParsePrivateKey(pem)
		}
		if err != nil {
			// never echo the key or passphrase, only the file name
			return nil, fmt.Errorf("parse key_file %s: %w", c.KeyFile, err)
		}
		m = append(m, xssh.PublicKeys(signer))
	}
	if c.Password.IsSet() {
		pw := c.Password.Reveal()
		m = append(m, xssh.Password(pw), xssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				a := make([]string, len(questions))
				for i := range a {
					a[i] = pw
				}
				return a, nil
			}))
	}
	if len(m) == 0 {
		return nil, errors.New("no credentials: set password or optional_args.key_file")
	}
	return m, nil
}

// Dial connects and authenticates. The TCP connect and the handshake are
// bounded by ctx; afterwards the caller owns the client (and should close
// it when ctx ends, see closeOnDone).
func Dial(ctx context.Context, c Conn) (*xssh.Client, error) {
	if c.HostKeyCallback == nil {
		return nil, errors.New("ssh: no host key callback")
	}
	auth, err := c.authMethods()
	if err != nil {
		return nil, err
	}
	addr := c.Addr()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	cfg := &xssh.ClientConfig{
		User:            c.Username,
		Auth:            auth,
		HostKeyCallback: c.HostKeyCallback,
	}
	cc, chans, reqs, err := xssh.NewClientConn(nc, addr, cfg)
	interrupted := !stop()
	if err != nil {
		nc.Close()
		if interrupted && ctx.Err() != nil {
			return nil, fmt.Errorf("ssh handshake: %w", ctx.Err())
		}
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return nil, hk
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("ssh: user %q: %w (%v)", c.Username, ErrAuth, err)
		}
		return nil, fmt.Errorf("ssh handshake: %w", err)
	}
	if interrupted {
		cc.Close()
		return nil, fmt.Errorf("ssh handshake: %w", ctx.Err())
	}
	return xssh.NewClient(cc, chans, reqs), nil
}

// closeOnDone closes c when ctx ends, which unblocks every pending read
// (scrapligo and go-netconf have no ctx of their own). Call the returned
// func when done with c.
func closeOnDone(ctx context.Context, c *xssh.Client) func() bool {
	return context.AfterFunc(ctx, func() { c.Close() })
}

// CloseOnDone is closeOnDone for other packages (drivers/netconf).
func CloseOnDone(ctx context.Context, c *xssh.Client) func() bool { return closeOnDone(ctx, c) }
