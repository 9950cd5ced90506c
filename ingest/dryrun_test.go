package ingest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/netboxlabs/diode-sdk-go/diode"
	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/protobuf/proto"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

func dryRunFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	slices.Sort(out) // names end in a strictly increasing stamp
	return out
}

func TestDryRunRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "dry-run")
	sink, err := NewDryRunSink(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pol := snmpPolicy(richDefaults())
	run, err := newTestPipeline(sink, nil, 0).Begin(ctx, pol, "run-dry")
	if err != nil {
		t.Fatal(err)
	}
	// Enough targets for several files, plus the rich fixtures.
	invs := []*drivers.Inventory{ciscoSwitch(), vcenter()}
	for i := 0; i < 5; i++ {
		invs = append(invs, switchN(i))
	}
	var want []*diodepb.Entity
	for i, inv := range invs {
		if _, err := run.Add(ctx, drivers.Target{Host: "198.51.100.9", Entry: i}, inv); err != nil {
			t.Fatal(err)
		}
		want = append(want, Entities(inv, pol.Defaults, MapOptions{Now: testNow, EmitPrefixes: true, DropUnknownVLANs: true})...)
	}
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}

	names := dryRunFiles(t, dir)
	if wantFiles := (len(want) + 999) / 1000; len(names) != wantFiles {
		t.Fatalf("%d files %v, want %d", len(names), names, wantFiles)
	}
	nameRE := regexp.MustCompile(`^ams1-agent_snmp_discovery_\d{19}\.json$`)
	var got []*diodepb.Entity
	for _, n := range names {
		if !nameRE.MatchString(n) {
			t.Errorf("file name %q does not match %s", n, nameRE)
		}
		path := filepath.Join(dir, n)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o640 {
			t.Errorf("%s mode %v, want 0640", n, st.Mode().Perm())
		}
		ents, err := diode.LoadDryRunEntities(path)
		if err != nil {
			t.Fatalf("LoadDryRunEntities(%s): %v", n, err)
		}
		got = append(got, ents...)
	}
	if len(got) != len(want) {
		t.Fatalf("read back %d entities, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("entity %d (%s) differs after the round trip:\n got %v\nwant %v", i, kindName(want[i]), got[i], want[i])
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o750 {
		t.Errorf("dir mode %v (%v), want 0750", st.Mode().Perm(), err)
	}
}

// TestDryRunMatchesSDK writes the same entities through the SDK's own
// DryRunClient and checks both files carry them identically, under the
// same key names, with the same file-name scheme.
func TestDryRunMatchesSDK(t *testing.T) {
	ctx := context.Background()
	ents := Entities(ciscoSwitch(), richDefaults(), MapOptions{Now: testNow, EmitPrefixes: true})

	sdkDir, ourDir := t.TempDir(), t.TempDir()
	client, err := diode.NewDryRunClient("ams1-agent/snmp_discovery", sdkDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.IngestProto(ctx, ents); err != nil {
		t.Fatal(err)
	}
	sink, err := NewDryRunSink(ourDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBatcher(testInfo())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if req, err := b.Add(e); err != nil || req != nil {
			t.Fatalf("Add: %v %v", req, err)
		}
	}
	req, err := b.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Send(ctx, req); err != nil {
		t.Fatal(err)
	}

	read := func(dir string) (string, map[string]any) {
		names := dryRunFiles(t, dir)
		if len(names) != 1 {
			t.Fatalf("%s: files %v", dir, names)
		}
		raw, err := os.ReadFile(filepath.Join(dir, names[0]))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		return names[0], doc
	}
	sdkName, sdkDoc := read(sdkDir)
	ourName, ourDoc := read(ourDir)
	stem := regexp.MustCompile(`_\d+\.json$`)
	if stem.ReplaceAllString(sdkName, "") != stem.ReplaceAllString(ourName, "") {
		t.Errorf("file names differ in scheme: sdk %q, ours %q", sdkName, ourName)
	}
	if !reflect.DeepEqual(sdkDoc["entities"], ourDoc["entities"]) {
		t.Error("entities encode differently from the SDK's dry-run client")
	}
	for k := range sdkDoc {
		if _, ok := ourDoc[k]; !ok {
			t.Errorf("SDK key %q missing from our file", k)
		}
	}
	for _, k := range []string{"stream", "producer_app_name", "producer_app_version", "sdk_name", "sdk_version", "metadata", "id"} {
		if _, ok := ourDoc[k]; !ok {
			t.Errorf("our file lacks %q", k)
		}
	}
}

func TestDryRunNoSecrets(t *testing.T) {
	dir := t.TempDir()
	sink, err := NewDryRunSink(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const secret = "s3cr3t-c0mmunity"
	pol := snmpPolicy(policies.Defaults{Site: "ams1"})
	if pol.SNMP.Scope.Authentication.Community.Reveal() != secret {
		t.Fatal("fixture lost its secret")
	}
	pol.SNMP.Scope.Targets = []policies.SNMPTarget{{Host: "198.51.100.1", Authentication: &policies.SNMPAuth{
		ProtocolVersion: "SNMPv3", Username: "orbd", AuthPassphrase: policies.Secret(secret + "-auth"), PrivPassphrase: policies.Secret(secret + "-priv")}}}
	run, err := newTestPipeline(sink, nil, 0).Begin(ctx, pol, "run-secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Add(ctx, drivers.Target{Host: "198.51.100.1"}, ciscoSwitch()); err != nil {
		t.Fatal(err)
	}
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}
	names := dryRunFiles(t, dir)
	if len(names) == 0 {
		t.Fatal("no dry-run file written")
	}
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), secret) {
			t.Errorf("%s contains a configured secret", n)
		}
		if !regexp.MustCompile(`"run_id":\s*"run-secret"`).Match(raw) {
			t.Errorf("%s lacks the run metadata (is this the file we wrote?)", n)
		}
	}
}

func TestDryRunErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := NewDryRunSink("", nil); err == nil {
		t.Error("empty dir accepted")
	}
	parent := t.TempDir()
	file := filepath.Join(parent, "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDryRunSink(filepath.Join(file, "sub"), nil); err == nil {
		t.Error("dir under a file accepted")
	}

	dir := filepath.Join(parent, "out")
	sink, err := NewDryRunSink(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := &diodepb.IngestRequest{Id: "11111111-2222-3333-4444-555555555555", ProducerAppName: "a/b",
		Entities: []*diodepb.Entity{siteEntity("s", "")}}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := sink.Send(ctx, req); err == nil || !strings.Contains(err.Error(), "request 11111111-2222-3333-4444-555555555555") {
		t.Errorf("Send into a vanished dir: %v", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := sink.Send(cctx, req); err == nil {
		t.Error("Send with a cancelled ctx succeeded")
	}
	if err := sink.Send(ctx, req); err != nil {
		t.Fatal(err)
	}
	if names := dryRunFiles(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], "a_b_") {
		t.Errorf("files %v: want exactly one a_b_*.json and no temporaries", names)
	}
}
