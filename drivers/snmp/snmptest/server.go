package snmptest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// OIDs of the USM and MPD statistics an agent reports in Report PDUs.
const (
	oidUnknownUserNames    = ".1.3.6.1.6.3.15.1.1.3.0"
	oidUnknownEngineIDs    = ".1.3.6.1.6.3.15.1.1.4.0"
	oidUnsupportedSecLevel = ".1.3.6.1.6.3.15.1.1.1.0"
)

// defaultMaxResponse keeps a response inside one UDP datagram.
const defaultMaxResponse = 65000

type config struct {
	community string
	anyComm   bool
	delay     time.Duration
	drop      bool
	garbage   bool
	v3Users   map[string]bool
	engineID  string
	silentOn  []string
	maxResp   int
}

// Option configures a Server.
type Option func(*config)

// WithCommunity sets the v1/v2c community the agent answers (default
// "public"). Requests with another community are dropped silently, as real
// agents do.
func WithCommunity(c string) Option { return func(o *config) { o.community = c } }

// WithAnyCommunity answers every community.
func WithAnyCommunity() Option { return func(o *config) { o.anyComm = true } }

// WithDelay delays every response by d, to emulate WAN round trips.
// Requests are still served concurrently.
func WithDelay(d time.Duration) Option { return func(o *config) { o.delay = d } }

// WithDrop makes the agent silent: requests are counted, never answered.
func WithDrop() Option { return func(o *config) { o.drop = true } }

// WithGarbage answers every request with bytes that are not SNMP.
func WithGarbage() Option { return func(o *config) { o.garbage = true } }

// WithSilentOn ignores requests naming an OID under prefix (".1.3.6.1.2.1.31"),
// so a walk of that subtree times out while the rest of the agent answers.
func WithSilentOn(prefix string) Option {
	return func(o *config) { o.silentOn = append(o.silentOn, strings.TrimSuffix(prefix, ".")+".") }
}

// WithMaxResponse caps an encoded response at n bytes, like an agent's
// maximum message size: GETBULK answers are truncated to fit (RFC 3416
// §4.2.3), GET and GETNEXT answers that do not fit become tooBig.
func WithMaxResponse(n int) Option { return func(o *config) { o.maxResp = n } }

// WithV3User adds an SNMPv3 user served at noAuthNoPriv. Users with
// authentication are not implemented (tests use net-snmp snmpd for those).
func WithV3User(name string) Option {
	return func(o *config) {
		if o.v3Users == nil {
			o.v3Users = map[string]bool{}
		}
		o.v3Users[name] = true
	}
}

// WithEngineID sets the snmpEngineID (5-32 octets) reported to v3 clients.
func WithEngineID(id string) Option { return func(o *config) { o.engineID = id } }

// Server is an in-process SNMP agent on UDP serving one Recording.
type Server struct {
	cfg     config
	rec     *Recording
	conn    net.PacketConn
	start   time.Time
	reqs    atomic.Int64
	done    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Once

	mu        sync.Mutex
	usernames []string
	stats     map[string]uint32
}

// NewServer listens on addr ("127.0.0.1:0" for a free port) and serves rec.
func NewServer(addr string, rec *Recording, opts ...Option) (*Server, error) {
	if rec == nil {
		return nil, errors.New("snmptest: nil recording")
	}
	cfg := config{community: "public", engineID: "\x80\x00\x1f\x88\x04orbd-snmptest", maxResp: defaultMaxResponse}
	for _, o := range opts {
		o(&cfg)
	}
	if n := len(cfg.engineID); n < 5 || n > 32 {
		return nil, fmt.Errorf("snmptest: engine ID must be 5-32 octets, got %d", n)
	}
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("snmptest: listen %s: %w", addr, err)
	}
	s := &Server{cfg: cfg, rec: rec, conn: conn, start: time.Now(), done: make(chan struct{}), stats: map[string]uint32{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the listening address, host:port.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Port is the listening UDP port.
func (s *Server) Port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// Requests counts datagrams received (answered or not).
func (s *Server) Requests() int64 { return s.reqs.Load() }

// ResetRequests zeroes the request counter.
func (s *Server) ResetRequests() { s.reqs.Store(0) }

// Usernames lists the SNMPv3 user names seen, in arrival order ("" for
// engine-discovery requests).
func (s *Server) Usernames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.usernames...)
}

// Close stops the agent and waits for in-flight responses to finish.
func (s *Server) Close() error {
	var err error
	s.closeMu.Do(func() {
		close(s.done)
		err = s.conn.Close()
		s.wg.Wait()
	})
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		s.reqs.Add(1)
		if s.cfg.drop {
			continue
		}
		var out []byte
		if s.cfg.garbage {
			out = []byte("this is not an SNMP message\n")
		} else {
			out = s.handle(buf[:n])
		}
		if out == nil {
			continue
		}
		if s.cfg.delay <= 0 {
			_, _ = s.conn.WriteTo(out, from)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTimer(s.cfg.delay)
			defer t.Stop()
			select {
			case <-t.C:
				_, _ = s.conn.WriteTo(out, from)
			case <-s.done:
			}
		}()
	}
}

// handle decodes one request and returns the encoded answer, or nil to stay silent.
func (s *Server) handle(in []byte) []byte {
	req, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(in)
	if err != nil {
		return nil // undecodable: real agents count snmpInASNParseErrs and stay silent
	}
	switch req.PDUType {
	case gosnmp.GetRequest, gosnmp.GetNextRequest, gosnmp.GetBulkRequest:
	default:
		return nil
	}
	for _, vb := range req.Variables {
		for _, p := range s.cfg.silentOn {
			if strings.HasPrefix(vb.Name+".", p) {
				return nil
			}
		}
	}
	resp := &gosnmp.SnmpPacket{
		Version:   req.Version,
		Community: req.Community,
		PDUType:   gosnmp.GetResponse,
		RequestID: req.RequestID,
	}
	if req.Version == gosnmp.Version3 {
		usm, ok := req.SecurityParameters.(*gosnmp.UsmSecurityParameters)
		if !ok {
			return nil
		}
		s.mu.Lock()
		s.usernames = append(s.usernames, usm.UserName)
		s.mu.Unlock()
		resp.MsgID = req.MsgID
		resp.MsgFlags = gosnmp.NoAuthNoPriv
		resp.SecurityModel = gosnmp.UserSecurityModel
		resp.SecurityParameters = &gosnmp.UsmSecurityParameters{
			AuthoritativeEngineID:    s.cfg.engineID,
			AuthoritativeEngineBoots: 1,
			AuthoritativeEngineTime:  uint32(time.Since(s.start) / time.Second),
			UserName:                 usm.UserName,
		}
		resp.ContextEngineID = s.cfg.engineID
		resp.ContextName = req.ContextName
		switch {
		case usm.AuthoritativeEngineID != s.cfg.engineID:
			return s.report(resp, oidUnknownEngineIDs)
		case !s.cfg.v3Users[usm.UserName]:
			return s.report(resp, oidUnknownUserNames)
		case req.MsgFlags&gosnmp.AuthPriv != gosnmp.NoAuthNoPriv:
			return s.report(resp, oidUnsupportedSecLevel)
		}
	} else if !s.cfg.anyComm && req.Community != s.cfg.community {
		return nil
	}
	s.answer(req, resp)
	out, err := resp.MarshalMsg()
	for err == nil && len(out) > s.cfg.maxResp && req.PDUType == gosnmp.GetBulkRequest && len(resp.Variables) > 1 {
		drop := max(1, (len(out)-s.cfg.maxResp)*len(resp.Variables)/len(out))
		resp.Variables = resp.Variables[:max(1, len(resp.Variables)-drop)]
		out, err = resp.MarshalMsg()
	}
	if err == nil && len(out) > s.cfg.maxResp {
		resp.Variables, resp.Error, resp.ErrorIndex = req.Variables, gosnmp.TooBig, 0
		out, err = resp.MarshalMsg()
	}
	if err != nil {
		return nil
	}
	return out
}

func (s *Server) report(resp *gosnmp.SnmpPacket, oid string) []byte {
	s.mu.Lock()
	s.stats[oid]++
	n := s.stats[oid]
	s.mu.Unlock()
	resp.PDUType = gosnmp.Report
	resp.Variables = []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Counter32, Value: n}}
	out, err := resp.MarshalMsg()
	if err != nil {
		return nil
	}
	return out
}

// answer fills resp's variables for a GET, GETNEXT or GETBULK.
func (s *Server) answer(req, resp *gosnmp.SnmpPacket) {
	v1 := req.Version == gosnmp.Version1
	// v1 reports a missing name as a noSuchName error for the whole PDU.
	v1Fail := func(i int) {
		resp.Error, resp.ErrorIndex = gosnmp.NoSuchName, uint8(min(i+1, 255))
		resp.Variables = req.Variables
	}
	switch req.PDUType {
	case gosnmp.GetRequest:
		for i, vb := range req.Variables {
			sub, err := ParseOID(vb.Name)
			v, ok := Var{}, false
			if err == nil {
				v, ok = s.rec.get(sub)
			}
			if !ok {
				if v1 {
					v1Fail(i)
					return
				}
				resp.Variables = append(resp.Variables, gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.NoSuchObject})
				continue
			}
			resp.Variables = append(resp.Variables, pdu(v))
		}
	case gosnmp.GetNextRequest:
		for i, vb := range req.Variables {
			v, ok := s.next(vb.Name)
			if !ok {
				if v1 {
					v1Fail(i)
					return
				}
				resp.Variables = append(resp.Variables, gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.EndOfMibView})
				continue
			}
			resp.Variables = append(resp.Variables, pdu(v))
		}
	case gosnmp.GetBulkRequest:
		if v1 {
			return // GETBULK does not exist in v1
		}
		nonRep := min(int(req.NonRepeaters), len(req.Variables))
		for _, vb := range req.Variables[:nonRep] {
			v, ok := s.next(vb.Name)
			if !ok {
				resp.Variables = append(resp.Variables, gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.EndOfMibView})
				continue
			}
			resp.Variables = append(resp.Variables, pdu(v))
		}
		cursors := make([]string, 0, len(req.Variables)-nonRep)
		for _, vb := range req.Variables[nonRep:] {
			cursors = append(cursors, vb.Name)
		}
		const maxVarbinds = 4096
		for r := 0; r < int(req.MaxRepetitions) && len(cursors) > 0 && len(resp.Variables) < maxVarbinds; r++ {
			allEnd := true
			for j, c := range cursors {
				v, ok := s.next(c)
				if !ok {
					resp.Variables = append(resp.Variables, gosnmp.SnmpPDU{Name: c, Type: gosnmp.EndOfMibView})
					continue
				}
				allEnd = false
				resp.Variables = append(resp.Variables, pdu(v))
				cursors[j] = v.OID
			}
			if allEnd {
				break
			}
		}
	}
}

func (s *Server) next(name string) (Var, bool) {
	sub, err := ParseOID(name)
	if err != nil {
		return Var{}, false
	}
	return s.rec.next(sub)
}

func pdu(v Var) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: v.OID, Type: v.Type, Value: v.Value}
}
