// Package snmptest is an in-process SNMP agent for tests and the demo lab,
// like net/http/httptest: it serves a recording in snmpsim's snmprec format
// ("OID|TYPE|VALUE") over UDP on loopback and answers GET, GETNEXT and
// GETBULK for SNMPv1 and v2c, plus SNMPv3 engine discovery, unknown-user
// Reports and noAuthNoPriv users (authenticated v3 is tested against
// net-snmp's snmpd instead). Packets are decoded and encoded with gosnmp.
//
// Fault injection for tests: a per-response delay (WAN latency), silence
// (WithDrop, WithSilentOn a subtree, or a wrong community), garbage replies,
// and counters of requests and v3 user names seen.
//
// Four recordings written for orbd are embedded (DemoDevices): a Cisco
// Catalyst 9300 on IOS-XE, an Arista 7050 on EOS, a Juniper MX204 on Junos
// and a Linux host running net-snmp. Demo starts them for `orbd demo`.
package snmptest
