package snmptest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

func TestParseSnmprecTypes(t *testing.T) {
	in := strings.Join([]string{
		"# comment",
		"1.3.6.1.2.1.1.1.0|4|Linux box 5.15",
		"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10",
		"1.3.6.1.2.1.1.3.0|67|12345",
		"1.3.6.1.2.1.1.4.0|4x|6869",
		"1.3.6.1.2.1.2.2.1.3.1|2|-6",
		"1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1",
		"1.3.6.1.2.1.4.20.1.3.10.0.0.1|64x|ffffff00",
		"1.3.6.1.2.1.2.2.1.10.1|65|4294967295",
		"1.3.6.1.2.1.2.2.1.5.1|66|1000000000",
		"1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615",
		"1.3.6.1.2.1.99.1|5|",
		"1.3.6.1.2.1.99.2|68x|9f780441",
		"1.3.6.1.2.1.99.3|67:numeric|rate=100,initial=42",
		"1.3.6.1.2.1.99.4|4:writecache|value=zeus",
		"1.3.6.1.2.1.99.5|64|J}M}",
		"",
	}, "\n")
	rec, err := ParseSnmprec(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		typ gosnmp.Asn1BER
		val any
	}{
		".1.3.6.1.2.1.1.1.0":             {gosnmp.OctetString, "Linux box 5.15"},
		".1.3.6.1.2.1.1.2.0":             {gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.8072.3.2.10"},
		".1.3.6.1.2.1.1.3.0":             {gosnmp.TimeTicks, uint32(12345)},
		".1.3.6.1.2.1.1.4.0":             {gosnmp.OctetString, "hi"},
		".1.3.6.1.2.1.2.2.1.3.1":         {gosnmp.Integer, -6},
		".1.3.6.1.2.1.4.20.1.1.10.0.0.1": {gosnmp.IPAddress, "\x0a\x00\x00\x01"},
		".1.3.6.1.2.1.4.20.1.3.10.0.0.1": {gosnmp.IPAddress, "\xff\xff\xff\x00"},
		".1.3.6.1.2.1.2.2.1.10.1":        {gosnmp.Counter32, uint32(4294967295)},
		".1.3.6.1.2.1.2.2.1.5.1":         {gosnmp.Gauge32, uint32(1000000000)},
		".1.3.6.1.2.1.31.1.1.1.6.1":      {gosnmp.Counter64, uint64(18446744073709551615)},
		".1.3.6.1.2.1.99.1":              {gosnmp.Null, nil},
		".1.3.6.1.2.1.99.2":              {gosnmp.Opaque, "\x9f\x78\x04\x41"},
		".1.3.6.1.2.1.99.3":              {gosnmp.TimeTicks, uint32(42)},
		".1.3.6.1.2.1.99.4":              {gosnmp.OctetString, "zeus"},
		".1.3.6.1.2.1.99.5":              {gosnmp.IPAddress, "J}M}"},
	}
	if rec.Len() != len(want) {
		t.Fatalf("parsed %d vars, want %d", rec.Len(), len(want))
	}
	prev := []uint32(nil)
	for _, v := range rec.Vars() {
		w, ok := want[v.OID]
		if !ok {
			t.Errorf("unexpected OID %s", v.OID)
			continue
		}
		got := v.Value
		if b, ok := got.([]byte); ok {
			got = string(b)
		}
		if v.Type != w.typ || got != w.val {
			t.Errorf("%s = %v %#v, want %v %#v", v.OID, v.Type, got, w.typ, w.val)
		}
		if prev != nil && compareOID(prev, v.sub) >= 0 {
			t.Errorf("not sorted: %s", v.OID)
		}
		prev = v.sub
	}
}

func TestParseSnmprecErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.3.6.1|4", "snmprec line 1: want OID|TYPE|VALUE"},
		{"1.3.x.1|4|a", `snmprec line 1: bad OID "1.3.x.1"`},
		{"1.3.6.1|99|a", "snmprec line 1: .1.3.6.1: unsupported type 99"},
		{"1.3.6.1|4x|zz", "snmprec line 1: .1.3.6.1: bad hex value"},
		{"1.3.6.1|2|abc", `snmprec line 1: .1.3.6.1: bad Integer32 "abc"`},
		{"1.3.6.1|65|-1", `snmprec line 1: .1.3.6.1: bad number "-1" for type 65`},
		{"1.3.6.1|64|300.1.1.1", `snmprec line 1: .1.3.6.1: bad IpAddress "300.1.1.1"`},
		{"1.3.6.1|64|abc", `snmprec line 1: .1.3.6.1: bad IpAddress "abc"`},
		{"1.3.6.1|4:sql|dbtype=x", `snmprec line 1: .1.3.6.1: snmpsim variation module "sql" not supported`},
		{"\n1.3.6.1|4|a\n1.3.6.1|4|b", "snmprec: duplicate OID .1.3.6.1"},
		{"1.3.6.1|t|a", `snmprec line 1: .1.3.6.1: bad type "t"`},
	} {
		_, err := ParseSnmprec(strings.NewReader(tc.in))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want prefix %q", tc.in, err, tc.want)
		}
	}
}

func startDemo(t *testing.T, name string, opts ...Option) (*Server, *Recording) {
	t.Helper()
	rec, err := DemoRecording(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer("127.0.0.1:0", rec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, rec
}

func client(t *testing.T, s *Server, v gosnmp.SnmpVersion, community string, timeout time.Duration) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(s.Port()), Version: v, Community: community, Timeout: timeout, Retries: 0, MaxRepetitions: 10}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// Walking a whole recording returns exactly what it holds, type and value,
// for GETBULK (v2c) and GETNEXT (v1).
func TestWalkReturnsRecording(t *testing.T) {
	for _, name := range DemoDevices {
		for _, v := range []gosnmp.SnmpVersion{gosnmp.Version1, gosnmp.Version2c} {
			t.Run(name+"/"+v.String(), func(t *testing.T) {
				s, rec := startDemo(t, name)
				g := client(t, s, v, "public", 2*time.Second)
				var got []gosnmp.SnmpPDU
				// gosnmp cannot encode ".1"; the recordings live under 1.2 and 1.3.
				for _, root := range []string{".1.2", ".1.3"} {
					var part []gosnmp.SnmpPDU
					var err error
					if v == gosnmp.Version1 {
						part, err = g.WalkAll(root)
					} else {
						part, err = g.BulkWalkAll(root)
					}
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, part...)
				}
				if len(got) != rec.Len() {
					t.Fatalf("walked %d vars, recording has %d", len(got), rec.Len())
				}
				for i, want := range rec.Vars() {
					g := got[i]
					if g.Name != want.OID || g.Type != want.Type {
						t.Fatalf("var %d: got %s %v, want %s %v", i, g.Name, g.Type, want.OID, want.Type)
					}
				}
				if s.Requests() < 2 {
					t.Errorf("Requests() = %d", s.Requests())
				}
			})
		}
	}
}

func TestGetMissing(t *testing.T) {
	s, _ := startDemo(t, "linux-netsnmp")
	g := client(t, s, gosnmp.Version2c, "public", 2*time.Second)
	r, err := g.Get([]string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.99.0"})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Variables[0].Value.([]byte)) != "web01" || r.Variables[1].Type != gosnmp.NoSuchObject {
		t.Errorf("v2c get: %+v", r.Variables)
	}
	g1 := client(t, s, gosnmp.Version1, "public", 2*time.Second)
	r, err = g1.Get([]string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.99.0"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != gosnmp.NoSuchName || r.ErrorIndex != 2 {
		t.Errorf("v1 get: error %v index %d, want noSuchName at 2", r.Error, r.ErrorIndex)
	}
}

func TestFaultModes(t *testing.T) {
	t.Run("wrong community is silence", func(t *testing.T) {
		s, _ := startDemo(t, "linux-netsnmp", WithCommunity("right"))
		_, err := client(t, s, gosnmp.Version2c, "wrong", 100*time.Millisecond).Get([]string{".1.3.6.1.2.1.1.5.0"})
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("got %v, want a timeout", err)
		}
		if s.Requests() != 1 {
			t.Errorf("Requests() = %d, want 1", s.Requests())
		}
	})
	t.Run("drop", func(t *testing.T) {
		s, _ := startDemo(t, "linux-netsnmp", WithDrop())
		_, err := client(t, s, gosnmp.Version2c, "public", 100*time.Millisecond).Get([]string{".1.3.6.1.2.1.1.5.0"})
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("got %v, want a timeout", err)
		}
		if s.Requests() != 1 {
			t.Errorf("Requests() = %d, want 1", s.Requests())
		}
	})
	t.Run("garbage", func(t *testing.T) {
		s, _ := startDemo(t, "linux-netsnmp", WithGarbage())
		_, err := client(t, s, gosnmp.Version2c, "public", time.Second).Get([]string{".1.3.6.1.2.1.1.5.0"})
		if err == nil || strings.Contains(err.Error(), "timeout") {
			t.Fatalf("got %v, want a decode error", err)
		}
	})
	t.Run("delay longer than the client timeout", func(t *testing.T) {
		s, _ := startDemo(t, "linux-netsnmp", WithDelay(300*time.Millisecond))
		if _, err := client(t, s, gosnmp.Version2c, "public", 50*time.Millisecond).Get([]string{".1.3.6.1.2.1.1.5.0"}); err == nil {
			t.Fatal("answered before the delay")
		}
		if _, err := client(t, s, gosnmp.Version2c, "public", 3*time.Second).Get([]string{".1.3.6.1.2.1.1.5.0"}); err != nil {
			t.Fatalf("delayed answer: %v", err)
		}
	})
}

func TestV3(t *testing.T) {
	s, _ := startDemo(t, "linux-netsnmp", WithV3User("reader"))
	v3 := func(user string) *gosnmp.GoSNMP {
		g := &gosnmp.GoSNMP{
			Target: "127.0.0.1", Port: uint16(s.Port()), Version: gosnmp.Version3, Timeout: time.Second,
			SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
			SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: user},
		}
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Close() })
		return g
	}
	r, err := v3("reader").Get([]string{".1.3.6.1.2.1.1.5.0"})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Variables[0].Value.([]byte)) != "web01" {
		t.Errorf("v3 get: %+v", r.Variables)
	}
	_, err = v3("stranger").Get([]string{".1.3.6.1.2.1.1.5.0"})
	if !errors.Is(err, gosnmp.ErrUnknownUsername) {
		t.Errorf("unknown user: got %v", err)
	}
	// gosnmp discovers the engine with an empty user first, then sends the user.
	want := []string{"", "reader", "", "stranger"}
	if got := s.Usernames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Usernames() = %q, want %q", got, want)
	}
}

func TestDemoRecordingsParse(t *testing.T) {
	for _, n := range DemoDevices {
		rec, err := DemoRecording(n)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Len() < 100 {
			t.Errorf("%s: only %d vars", n, rec.Len())
		}
	}
	if _, err := DemoRecording("nope"); err == nil {
		t.Error("unknown recording: no error")
	}
}
