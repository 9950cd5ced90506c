package vcenter_test

import (
	"testing"
	"time"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/ingest"
	"github.com/orbd/orbd/internal/testutil"
	"github.com/orbd/orbd/policies"
)

// entityCounts counts the Diode entities of the kinds vCenter yields.
type entityCounts struct{ Clusters, Devices, VMs, VMInterfaces, Disks, Interfaces int }

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
		case e.GetCluster() != nil:
			c.Clusters++
		case e.GetDevice() != nil:
			c.Devices++
		case e.GetVirtualMachine() != nil:
			c.VMs++
		case e.GetVmInterface() != nil:
			c.VMInterfaces++
		case e.GetVirtualDisk() != nil:
			c.Disks++
		case e.GetInterface() != nil:
			c.Interfaces++
		}
	}
	return c, testutil.EntitiesJSON(t, ents)
}
