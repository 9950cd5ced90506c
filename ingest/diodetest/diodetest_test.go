package diodetest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// client talks to the receiver with plain grpc-go and net/http, so the
// receiver is tested independently of orbd's sink.
type client struct {
	t      *testing.T
	srv    *Server
	http   *http.Client
	conn   *grpc.ClientConn
	prefix string
	scheme string
}

func newClient(t *testing.T, srv *Server, prefix string) *client {
	t.Helper()
	c := &client{t: t, srv: srv, prefix: prefix, scheme: "http", http: &http.Client{Timeout: 5 * time.Second}}
	creds := insecure.NewCredentials()
	if pem := srv.CAPEM(); pem != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		creds = credentials.NewTLS(tc)
		c.http.Transport = &http.Transport{TLSClientConfig: tc}
		c.scheme = "https"
	}
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(creds),
		grpc.WithUnaryInterceptor(func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return inv(ctx, prefix+m, req, reply, cc, o...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, d *grpc.StreamDesc, cc *grpc.ClientConn, m string, st grpc.Streamer, o ...grpc.CallOption) (grpc.ClientStream, error) {
			return st(ctx, d, cc, prefix+m, o...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c.conn = conn
	return c
}

func (c *client) token(id, secret string) (string, int) {
	c.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"diode:ingest"}}
	resp, err := c.http.PostForm(c.scheme+"://"+c.srv.Addr()+c.prefix+"/auth/token", form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return body.AccessToken, resp.StatusCode
}

func (c *client) ingest(tok string, req *diodepb.IngestRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	_, err := diodepb.NewIngesterServiceClient(c.conn).Ingest(ctx, req)
	return err
}

func TestReceiver(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		prefix string
	}{
		{"tls", nil, ""},
		{"tls+prefix", []Option{WithPrefix("/diode")}, "/diode"},
		{"plaintext+prefix", []Option{WithPlaintext(), WithPrefix("diode/")}, "/diode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := New(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if !strings.HasSuffix(srv.URL(), srv.Port()+tc.prefix) {
				t.Fatalf("URL %s", srv.URL())
			}
			c := newClient(t, srv, tc.prefix)

			if _, code := c.token(DefaultClientID, "wrong"); code != http.StatusUnauthorized {
				t.Fatalf("bad secret: HTTP %d", code)
			}
			tok, code := c.token(DefaultClientID, DefaultClientSecret)
			if code != 200 || tok == "" {
				t.Fatalf("token: HTTP %d", code)
			}
			if err := c.ingest("nope", SampleRequest(0, 3)); status.Code(err) != codes.Unauthenticated {
				t.Fatalf("unknown token: %v", err)
			}
			if err := c.ingest(tok, SampleRequest(1, 3)); err != nil {
				t.Fatalf("ingest: %v", err)
			}
			bad := SampleRequest(2, 1)
			bad.SdkVersion = "v1.0"
			if err := c.ingest(tok, bad); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("invalid request: %v", err)
			}
			srv.FailNext(codes.ResourceExhausted, 2)
			for i := 0; i < 2; i++ {
				if err := c.ingest(tok, SampleRequest(3, 1)); status.Code(err) != codes.ResourceExhausted {
					t.Fatalf("injected fault %d: %v", i, err)
				}
			}
			srv.UnauthenticatedOnce()
			if err := c.ingest(tok, SampleRequest(3, 1)); status.Code(err) != codes.Unauthenticated {
				t.Fatalf("unauth once: %v", err)
			}
			if err := c.ingest(tok, SampleRequest(3, 1)); err != nil {
				t.Fatalf("after unauth once: %v", err)
			}
			srv.ExpireTokens()
			if err := c.ingest(tok, SampleRequest(4, 1)); status.Code(err) != codes.Unauthenticated {
				t.Fatalf("expired token: %v", err)
			}
			tok, _ = c.token(DefaultClientID, DefaultClientSecret)
			srv.DropNext(1)
			if err := c.ingest(tok, SampleRequest(5, 2)); status.Code(err) != codes.Unavailable {
				t.Fatalf("dropped connection: %v", err)
			}
			// Reflection (doctor's round trip) under the same prefix.
			st, err := rpb.NewServerReflectionClient(c.conn).ServerReflectionInfo(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			st.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
			r, err := st.Recv()
			if err != nil {
				t.Fatalf("reflection: %v", err)
			}
			if !strings.Contains(r.String(), "diode.v1.IngesterService") {
				t.Fatalf("reflection lists %v", r)
			}

			got := srv.Requests()
			ids := []string{SampleRequest(1, 3).Id, SampleRequest(3, 1).Id, SampleRequest(5, 2).Id}
			if len(got) != 3 || got[0].Id != ids[0] || got[1].Id != ids[1] || got[2].Id != ids[2] {
				t.Fatalf("recorded %d requests", len(got))
			}
			if len(srv.Entities()) != 6 || len(srv.ValidationErrors()) != 1 {
				t.Fatalf("entities %d, validation errors %d", len(srv.Entities()), len(srv.ValidationErrors()))
			}
			if a := srv.Attempts(); !a[len(a)-1].Dropped {
				t.Fatalf("last attempt not marked dropped: %+v", a[len(a)-1])
			}
		})
	}
}

func TestDownUpSamePort(t *testing.T) {
	srv, err := New(WithPlaintext())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := newClient(t, srv, "")
	tok, _ := c.token(DefaultClientID, DefaultClientSecret)
	srv.Down()
	if err := c.ingest(tok, SampleRequest(1, 1)); status.Code(err) != codes.Unavailable {
		t.Fatalf("while down: %v", err)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	// grpc reconnects by itself; the token survives a restart.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.ingest(tok, SampleRequest(1, 1))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target, summary, stop, err := Demo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	u, _ := url.Parse(target)
	if u.Scheme != "grpc" || u.Path != DemoPrefix {
		t.Fatalf("demo target %s", target)
	}
	// Deliver through a raw client to the demo receiver.
	d, err := New(WithPlaintext(), WithAddr(u.Host)) // port is taken: must fail
	if err == nil {
		d.Close()
		t.Fatal("second receiver on the demo port")
	}
	c := &client{t: t, scheme: "http", prefix: DemoPrefix, http: &http.Client{Timeout: 5 * time.Second}}
	c.srv = &Server{addr: u.Host}
	conn, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return inv(ctx, DemoPrefix+m, req, reply, cc, o...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c.conn = conn
	tok, code := c.token(DemoClientID, DemoClientSecret)
	if code != 200 {
		t.Fatalf("demo token: %d", code)
	}
	if err := c.ingest(tok, SampleRequest(7, 7)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	summary(&b)
	for _, want := range []string{"1 requests, 7 entities", "device               3", "interface            2", "ip_address           2"} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("summary lacks %q:\n%s", want, b.String())
		}
	}
}
