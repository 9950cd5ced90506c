package snmptest

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"net"
	"strconv"
	"strings"
)

//go:embed testdata/*.snmprec
var demoFS embed.FS

// DemoDevices names the embedded recordings, in the order Demo starts them.
var DemoDevices = []string{
	"cisco-iosxe-c9300",
	"arista-eos-7050",
	"juniper-junos-mx204",
	"linux-netsnmp",
}

// DemoCommunity is the community the demo agents answer.
const DemoCommunity = "demo"

// DemoRecording parses one embedded recording by name (see DemoDevices).
func DemoRecording(name string) (*Recording, error) {
	b, err := demoFS.ReadFile("testdata/" + name + ".snmprec")
	if err != nil {
		return nil, fmt.Errorf("snmptest: no demo recording %q", name)
	}
	rec, err := ParseSnmprec(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("snmptest: demo recording %s: %w", name, err)
	}
	return rec, nil
}

// Lab is a set of running demo agents.
type Lab struct {
	// Hosts and Ports of the answering agents, in DemoDevices order.
	Hosts   []string
	Ports   []int
	Servers []*Server
	// Silent is the address of an agent that never answers (host:port).
	Silent string
	// Range is the scope host covering the agents and the silent address
	// when they share one port ("127.0.0.11-15"), else "".
	Range string
}

// Close stops every agent.
func (l *Lab) Close() {
	for _, s := range l.Servers {
		_ = s.Close()
	}
}

// StartLab starts the four demo devices plus one silent agent on loopback:
// on 127.0.0.11-15 sharing one port where the system allows binding those
// addresses (Linux), else on free ports of 127.0.0.1.
func StartLab() (*Lab, error) {
	recs := make([]*Recording, len(DemoDevices))
	for i, name := range DemoDevices {
		r, err := DemoRecording(name)
		if err != nil {
			return nil, err
		}
		recs[i] = r
	}
	empty := &Recording{}
	for attempt := 0; attempt < 5; attempt++ {
		l, err := startShared(recs, empty)
		if err == nil {
			return l, nil
		}
	}
	// Fallback: 127.0.0.1 with one free port each.
	l := &Lab{}
	for _, r := range recs {
		s, err := NewServer("127.0.0.1:0", r, WithCommunity(DemoCommunity))
		if err != nil {
			l.Close()
			return nil, err
		}
		l.Servers = append(l.Servers, s)
		l.Hosts = append(l.Hosts, "127.0.0.1")
		l.Ports = append(l.Ports, s.Port())
	}
	s, err := NewServer("127.0.0.1:0", empty, WithDrop())
	if err != nil {
		l.Close()
		return nil, err
	}
	l.Servers = append(l.Servers, s)
	l.Silent = s.Addr()
	return l, nil
}

func startShared(recs []*Recording, empty *Recording) (*Lab, error) {
	first, err := NewServer("127.0.0.11:0", recs[0], WithCommunity(DemoCommunity))
	if err != nil {
		return nil, err
	}
	port := first.Port()
	l := &Lab{Servers: []*Server{first}, Hosts: []string{"127.0.0.11"}, Ports: []int{port}}
	for i := 1; i <= len(recs); i++ {
		host := "127.0.0." + strconv.Itoa(11+i)
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		var s *Server
		if i < len(recs) {
			s, err = NewServer(addr, recs[i], WithCommunity(DemoCommunity))
		} else {
			s, err = NewServer(addr, empty, WithDrop())
		}
		if err != nil {
			l.Close()
			return nil, err
		}
		l.Servers = append(l.Servers, s)
		if i < len(recs) {
			l.Hosts = append(l.Hosts, host)
			l.Ports = append(l.Ports, port)
		} else {
			l.Silent = addr
		}
	}
	l.Range = fmt.Sprintf("127.0.0.11-%d", 11+len(recs))
	return l, nil
}

// Demo starts the simulated SNMP lab and returns the body of one
// snmp_discovery policy that discovers it (a swept range with one silent
// address), and a stop function.
func Demo(ctx context.Context) (policyYAML string, stop func(), err error) {
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	l, err := StartLab()
	if err != nil {
		return "", nil, fmt.Errorf("snmp demo: %w", err)
	}
	var b strings.Builder
	b.WriteString(`config:
  timeout: 30
  snmp_timeout: 2
  snmp_probe_timeout: 0.5
  retries: 0
  defaults:
    site: demo-lab
    tags: [demo]
  options:
    discover_modules: true
    discover_vrfs: true
scope:
  authentication:
    protocol_version: SNMPv2c
    community: ` + DemoCommunity + `
  targets:
`)
	if l.Range != "" {
		fmt.Fprintf(&b, "    - host: %s\n      port: %d\n", l.Range, l.Ports[0])
	} else {
		for i := range l.Hosts {
			fmt.Fprintf(&b, "    - host: %s\n      port: %d\n", l.Hosts[i], l.Ports[i])
		}
		h, p, _ := net.SplitHostPort(l.Silent)
		fmt.Fprintf(&b, "    - host: %s\n      port: %s\n", h, p)
	}
	return b.String(), l.Close, nil
}
