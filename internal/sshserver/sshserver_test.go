package sshserver

import (
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
)

func echoConfig(user, pw string) Config {
	return Config{Name: "t", Username: user, Password: pw,
		Request: func(typ string, _ []byte) (bool, bool) { return typ == "exec", typ == "exec" },
		Session: func(ch xssh.Channel, _ <-chan struct{}) { ch.Write([]byte("hello")) },
	}
}

func TestStartRejects(t *testing.T) {
	for _, tc := range []struct {
		addr string
		c    Config
		want string
	}{
		{"0.0.0.0:0", echoConfig("u", "p"), "t: 0.0.0.0:0 is not a loopback address"},
		{"127.0.0.1:0", Config{Name: "t"}, "t: sshserver needs Request and Session"},
	} {
		s, err := Start(tc.addr, tc.c)
		if err == nil {
			s.Close()
		}
		if err == nil || err.Error() != tc.want {
			t.Errorf("Start(%s) = %v, want %q", tc.addr, err, tc.want)
		}
	}
}

func TestAuthAndSession(t *testing.T) {
	s, err := Start("127.0.0.1:0", echoConfig("admin", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// no credentials configured: every login is refused
	none, err := Start("127.0.0.1:0", echoConfig("admin", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	dial := func(srv *Server, pw string) (string, error) {
		c, err := xssh.Dial("tcp", srv.Addr, &xssh.ClientConfig{User: "admin", Auth: []xssh.AuthMethod{xssh.Password(pw)},
			HostKeyCallback: xssh.FixedHostKey(srv.HostKey), Timeout: 5 * time.Second})
		if err != nil {
			return "", err
		}
		defer c.Close()
		sess, err := c.NewSession()
		if err != nil {
			return "", err
		}
		defer sess.Close()
		out, err := sess.Output("anything")
		return string(out), err
	}
	if out, err := dial(s, "pw"); err != nil || out != "hello" {
		t.Fatalf("session = %q, %v", out, err)
	}
	for _, tc := range []struct {
		srv *Server
		pw  string
	}{{s, "wrong"}, {none, ""}, {none, "pw"}} {
		if _, err := dial(tc.srv, tc.pw); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("%s with %q: err = %v, want refused", tc.srv.Addr, tc.pw, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Closed():
	default:
		t.Fatal("Closed not closed after Close")
	}
}
