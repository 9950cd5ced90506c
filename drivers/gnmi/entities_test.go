package gnmi_test

import (
	"testing"
	"time"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/ingest"
	"github.com/orbd/orbd/internal/testutil"
	"github.com/orbd/orbd/policies"
)

// entityCounts counts the Diode entities of the kinds gNMI yields.
type entityCounts struct{ Devices, Interfaces, IPAddresses, VLANs int }

// mapEntities runs the inventory through the same ingest mapping the agent
// uses and returns its counts and indented JSON (the golden file).
func mapEntities(t *testing.T, inv *drivers.Inventory) (entityCounts, []byte) {
	t.Helper()
	ents := ingest.Entities(inv, policies.Defaults{Site: "lab"}, ingest.MapOptions{
		Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), EmitPrefixes: true,
	})
	var c entityCounts
	for _, e := range ents {
		switch {
		case e.GetDevice() != nil:
			c.Devices++
		case e.GetInterface() != nil:
			c.Interfaces++
		case e.GetIpAddress() != nil:
			c.IPAddresses++
		case e.GetVlan() != nil:
			c.VLANs++
		}
	}
	return c, testutil.EntitiesJSON(t, ents)
}
