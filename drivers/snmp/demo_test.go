package snmp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/orbd/orbd/policies"

	"github.com/orbd/orbd/drivers/snmp/snmptest"
)

// The embedded demo devices discovered over v2c give the golden inventory.
func TestDiscoverDemoRecordings(t *testing.T) {
	for _, name := range snmptest.DemoDevices {
		t.Run(name, func(t *testing.T) {
			s := startAgent(t, name, snmptest.WithCommunity("demo"))
			d := newDriver(t, v2c("demo"), one(s.Port()), func(c *policies.SNMPConfig) { c.Options.DiscoverModules = true })
			inv, err := d.Discover(ctxTimeout(t, 10*time.Second), target(s.Port()))
			if err != nil {
				t.Fatal(err)
			}
			dev := inv.Devices[0]
			dev.MgmtAddress = netip.Addr{} // the port is random; the address is not
			golden(t, name+".golden.json", dev)
		})
	}
}
