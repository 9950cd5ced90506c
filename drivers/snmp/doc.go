// Package snmp is the snmp_discovery backend: it sweeps scope ranges with a
// cheap credential-free probe, then walks the MIB-2 system group, ifTable,
// ifXTable, IP-MIB, ENTITY-MIB and Q-BRIDGE (plus CISCO-VTP-MIB on Cisco) of
// each responder (IEEE8023-LAG-MIB for LAG membership, BRIDGE-MIB and
// Q-BRIDGE port VLANs for access/tagged mode) and returns a driver-neutral
// inventory. With options.discover_vrfs it also walks MPLS-L3VPN-STD-MIB
// and, on Cisco, CISCO-VRF-MIB to put interfaces (and so their addresses
// and prefixes) in their VRF.
//
// Round trips, not CPU, dominate discovery across a WAN, so each table is
// walked with one multi-column GETBULK stream (all needed columns of a table
// advance in the same request) and the tables of one device are walked
// concurrently on up to four sockets (the small tables share one walk). One
// device therefore costs about the round trips of its longest table, and
// never more requests than snmpbulkwalk needs for the same columns.
//
// Sweeps: Probe sends one GET of sysObjectID.0 on one socket. For SNMPv3 it
// carries the placeholder user ProbeUser at noAuthNoPriv with an empty
// engine ID, so any agent answers with a Report and the operator's user
// name and keys are only ever sent to addresses that answered.
//
// Decisions worth knowing:
//   - IPv6 link-local addresses (fe80::/10) are dropped: they repeat on
//     every device and interface and are not IPAM data.
//   - CISCO-VTP-MIB VLANs 1002-1005 (the token-ring/FDDI defaults every
//     Cisco switch carries) are dropped.
//   - A port's PVID may name a VLAN the device has no row for (dynamic,
//     GVRP); it is reported as is and ingest applies
//     options.create_unknown_vlans.
//   - Of several ENTITY-MIB chassis, a top-level one gives serial and
//     model, else (a stack) the member with the lowest index: the
//     inventory has no virtual-chassis shape yet.
//   - v1/v2c cannot tell a wrong community from an absent agent: both are
//     silence, reported as "no response (wrong community or no agent?)".
package snmp
