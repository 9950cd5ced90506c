// Package ssh discovers network devices over an SSH CLI. It connects with
// golang.org/x/crypto/ssh (so host keys are checked by our own known_hosts
// policy, see HostKeys), drives the session with scrapligo's platform
// definitions (prompts, privilege levels, paging off) and parses what each
// OS prints into a drivers.Device: structured `| json` output on NX-OS and
// EOS, `| display json` on Junos, table-driven text parsers on IOS, IOS-XE
// and IOS-XR.
//
// IPv6 link-local addresses (fe80::/10) are not reported on any platform:
// every interface has one, they are not unique across devices and NetBox
// would merge them into one IP address object.
//
// It is a library: the device_discovery backend (drivers/device) chooses
// the transport and calls Discover.
package ssh
