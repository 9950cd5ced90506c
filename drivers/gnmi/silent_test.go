package gnmi_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbd/orbd/policies"
)

// A listener that accepts and never speaks (a wedged agent, a port
// forwarded to nothing): the target's deadline must end the attempt, for
// plaintext and TLS alike, with an error saying so.
func TestSilentListenerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	for _, tl := range []policies.GNMITLS{{Insecure: true}, {SkipVerify: true}} {
		t.Run(fmt.Sprintf("insecure=%v", tl.Insecure), func(t *testing.T) {
			e := policies.GNMITarget{Host: "127.0.0.1", Port: port, TLS: tl, Username: "admin", Password: "pw"}
			_, _, err := discoverOne(t, e, 300*time.Millisecond)
			want := "timed out after 300ms: "
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err = %v\nwant prefix %s", err, want)
			}
		})
	}
}
