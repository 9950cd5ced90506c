// Package ingesttest runs a driver's inventory through the same ingest
// mapping the agent uses, for drivers' entity-by-entity golden tests.
package ingesttest

import (
	"testing"
	"time"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/ingest"
	"github.com/orbd/orbd/ingest/diodetest"
	"github.com/orbd/orbd/internal/testutil"
	"github.com/orbd/orbd/policies"
)

// Map maps inv with site "lab" at a fixed time and returns how many
// entities of each kind ("device", "interface", "ip_address", …) it made
// and their indented JSON (the golden file's content).
func Map(t testing.TB, inv *drivers.Inventory) (kinds map[string]int, goldenJSON []byte) {
	t.Helper()
	ents := ingest.Entities(inv, policies.Defaults{Site: "lab"}, ingest.MapOptions{
		Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), EmitPrefixes: true,
	})
	kinds = map[string]int{}
	for _, e := range ents {
		kinds[diodetest.EntityKind(e)]++
	}
	return kinds, testutil.EntitiesJSON(t, ents)
}

// CheckCounts fails t unless every kind in want has exactly that count
// in got (kinds not named in want are not checked).
func CheckCounts(t testing.TB, got, want map[string]int) {
	t.Helper()
	for kind, n := range want {
		if got[kind] != n {
			t.Errorf("%d %s entities, want %d (all: %v)", got[kind], kind, n, got)
		}
	}
}
