// Package vcenter implements the vcenter_discovery backend: it logs in to a
// vCenter (or ESXi) SDK endpoint with govmomi, reads datacenters, clusters,
// hosts, VMs and networks (the port-group names of VM NICs) through one
// container view and the property collector (a handful of round trips
// whatever the size of the estate), and maps them to the driver-neutral
// inventory: clusters, ESXi hosts as devices with their physical and
// VMkernel NICs, and virtual machines with their NICs, guest IPs and disks.
// Hosts outside a cluster are devices too; their VMs are reported without
// a host device, which NetBox accepts only together with a cluster.
package vcenter
