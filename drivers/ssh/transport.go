package ssh

import (
	"bytes"
	"errors"
	"io"

	"github.com/scrapli/scrapligo/transport"
	xssh "golang.org/x/crypto/ssh"
)

// shellTransport is a scrapligo transport.Implementation over an already
// authenticated x/crypto/ssh client. scrapligo's own "standard" transport
// cannot take our HostKeyCallback or a ctx, so we dial ourselves (Dial)
// and hand scrapligo only the interactive shell.
type shellTransport struct {
	client  *xssh.Client
	session *xssh.Session
	w       io.WriteCloser
	r       io.Reader
	buf     []byte
}

var _ transport.Implementation = (*shellTransport)(nil)

func (t *shellTransport) Open(a *transport.Args) error {
	s, err := t.client.NewSession()
	if err != nil {
		return err
	}
	modes := xssh.TerminalModes{xssh.ECHO: 1, xssh.TTY_OP_ISPEED: 115200, xssh.TTY_OP_OSPEED: 115200}
	if err := s.RequestPty("xterm", a.TermHeight, a.TermWidth, modes); err != nil {
		s.Close()
		return err
	}
	w, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return err
	}
	r, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return err
	}
	if err := s.Shell(); err != nil {
		s.Close()
		return err
	}
	t.session, t.w, t.r = s, w, r
	return nil
}

func (t *shellTransport) Close() error {
	if t.session != nil {
		t.session.Close()
	}
	return t.client.Close()
}

func (t *shellTransport) IsAlive() bool { return t.session != nil }

func (t *shellTransport) Read(n int) ([]byte, error) {
	if t.r == nil {
		return nil, errors.New("shell not open")
	}
	// scrapligo reads from one goroutine and keeps what we return: read
	// into one reused buffer and hand out a copy of what arrived, not a
	// fresh zeroed 8 KiB per read
	if cap(t.buf) < n {
		t.buf = make([]byte, n)
	}
	n, err := t.r.Read(t.buf[:n])
	if n > 0 {
		return bytes.Clone(t.buf[:n]), nil
	}
	return nil, err
}

func (t *shellTransport) Write(b []byte) error {
	if t.w == nil {
		return errors.New("shell not open")
	}
	_, err := t.w.Write(b)
	return err
}
