package agent

import (
	"fmt"
	"testing"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// Agents sharing one policy file split its targets: every target goes to
// exactly one shard, and the split is roughly even.
func TestShardTargetsPartition(t *testing.T) {
	var ts []drivers.Target
	for i := 0; i < 1000; i++ {
		ts = append(ts, drivers.Target{Host: fmt.Sprintf("127.0.%d.%d", i/250, i%250+1), Port: 161})
	}
	seen := map[string]int{}
	for idx := 0; idx < 3; idx++ {
		got := shardTargets(ts, policies.Shard{Index: idx, Count: 3})
		if len(got) < 250 || len(got) > 420 {
			t.Errorf("shard %d has %d of 1000 targets; want roughly a third", idx, len(got))
		}
		for _, x := range got {
			seen[x.String()]++
		}
	}
	if len(seen) != len(ts) {
		t.Fatalf("%d targets covered, want %d", len(seen), len(ts))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("%s in %d shards", k, n)
		}
	}
	if got := shardTargets(ts, policies.Shard{Index: 0, Count: 1}); len(got) != len(ts) {
		t.Fatalf("count 1 kept %d of %d", len(got), len(ts))
	}
}
