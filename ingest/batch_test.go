package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func testInfo() RequestInfo {
	return RequestInfo{AgentName: "ams1-agent", Backend: "snmp_discovery", Version: "v1.4.2-rc.1+dirty",
		Policy: "core", RunID: "run-7", Labels: map[string]string{"region": "eu", "pop": "ams1"}}
}

func siteEntity(name, desc string) *diodepb.Entity {
	return &diodepb.Entity{Timestamp: timestamppb.New(testNow), Entity: &diodepb.Entity_Site{Site: &diodepb.Site{
		Name: name, Slug: Slugify(name), Description: sp(desc)}}}
}

// collect feeds ents through b and returns every request, checking the
// incremental size accounting against proto.Size on the way.
func collect(t *testing.T, b *Batcher, ents []*diodepb.Entity) []*diodepb.IngestRequest {
	t.Helper()
	var reqs []*diodepb.IngestRequest
	for i, e := range ents {
		// Sampled: measuring the whole batch on every add is quadratic.
		if len(b.pending) > 0 && (i%97 == 0 || len(b.pending) < 20 || len(b.pending) == b.maxEntities-1) {
			if want := proto.Size(b.request(b.pending)); b.size != want {
				t.Fatalf("size accounting %d, proto.Size %d", b.size, want)
			}
		}
		req, err := b.Add(e)
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		if req != nil {
			reqs = append(reqs, req)
		}
	}
	req, err := b.Flush()
	if err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if req != nil {
		reqs = append(reqs, req)
	}
	return reqs
}

func TestBatchByCount(t *testing.T) {
	b, err := NewBatcher(testInfo())
	if err != nil {
		t.Fatal(err)
	}
	ents := make([]*diodepb.Entity, 2500)
	for i := range ents {
		ents[i] = siteEntity(fmt.Sprintf("site-%04d", i), "")
	}
	reqs := collect(t, b, ents)
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	next := 0
	for i, want := range []int{1000, 1000, 500} {
		r := reqs[i]
		if len(r.Entities) != want {
			t.Errorf("request %d: %d entities, want %d", i, len(r.Entities), want)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		for _, e := range r.Entities { // order kept, nothing lost or doubled
			if e != ents[next] {
				t.Fatalf("request %d: entity out of order at %d", i, next)
			}
			next++
		}
	}
	if reqs[0].Id == reqs[1].Id {
		t.Error("request ids repeat")
	}
}

func TestBatchByBytes(t *testing.T) {
	b, err := NewBatcher(testInfo())
	if err != nil {
		t.Fatal(err)
	}
	// 40 entities of ~300 KiB: 12 MiB in all, so at least 4 requests.
	big := strings.Repeat("x", 300<<10)
	ents := make([]*diodepb.Entity, 40)
	for i := range ents {
		ents[i] = siteEntity(fmt.Sprintf("big-%02d", i), big)
	}
	reqs := collect(t, b, ents)
	if len(reqs) < 4 {
		t.Fatalf("%d requests, want at least 4", len(reqs))
	}
	total := 0
	for i, r := range reqs {
		size := proto.Size(r)
		if size >= MaxRequestBytes {
			t.Errorf("request %d is %d bytes, cap %d", i, size, MaxRequestBytes)
		}
		// Packed tight: the next entity would not have fitted.
		if i < len(reqs)-1 && size+entitySize(reqs[i+1].Entities[0]) < MaxRequestBytes {
			t.Errorf("request %d cut early at %d bytes", i, size)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		total += len(r.Entities)
	}
	if total != len(ents) {
		t.Errorf("%d entities delivered, want %d", total, len(ents))
	}
}

func TestBatchOversizeEntity(t *testing.T) {
	b, err := newBatcher(testInfo(), 1000, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(siteEntity("ok", "")); err != nil {
		t.Fatal(err)
	}
	_, err = b.Add(siteEntity("huge-site", strings.Repeat("y", 70<<10)))
	if err == nil || !strings.Contains(err.Error(), `entity site "huge-site"`) {
		t.Fatalf("err = %v, want one naming site huge-site", err)
	}
	// The batch is intact and the oversize entity was not added.
	req, err := b.Flush()
	if err != nil || req == nil || len(req.Entities) != 1 || req.Entities[0].GetSite().GetName() != "ok" {
		t.Fatalf("flush after oversize: %v %v", req, err)
	}
}

func TestBatchInvalidRequestNotReturned(t *testing.T) {
	b, err := NewBatcher(testInfo())
	if err != nil {
		t.Fatal(err)
	}
	bad := &diodepb.Entity{Timestamp: timestamppb.New(testNow), Entity: &diodepb.Entity_Interface{Interface: &diodepb.Interface{
		Name: "Gi0/1", Type: "bogus-type", Device: &diodepb.Device{Name: sp("sw1")}}}}
	for _, e := range []*diodepb.Entity{siteEntity("a", ""), bad} {
		if _, err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	req, err := b.Flush()
	if req != nil {
		t.Fatal("invalid request returned")
	}
	want := `entity 1 (interface "sw1 Gi0/1")`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "Type: value must be in list") {
		t.Fatalf("err = %v, want it to contain %q and the violated rule", err, want)
	}
	if b.Len() != 0 {
		t.Errorf("batch not reset: %d pending", b.Len())
	}
}

func TestRequestHeaderAndMetadata(t *testing.T) {
	b, err := NewBatcher(testInfo())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(siteEntity("s", "")); err != nil {
		t.Fatal(err)
	}
	req, err := b.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(req.Id); err != nil {
		t.Errorf("id %q: %v", req.Id, err)
	}
	for _, c := range []struct{ field, got, want string }{
		{"stream", req.Stream, "latest"},
		{"producer_app_name", req.ProducerAppName, "ams1-agent/snmp_discovery"},
		{"producer_app_version", req.ProducerAppVersion, "v1.4.2-rc.1+dirty"},
		{"sdk_name", req.SdkName, "orbd"},
		{"sdk_version", req.SdkVersion, "1.4.2"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	got := req.Metadata.AsMap()
	want := map[string]any{
		"policy": "core", "backend": "snmp_discovery", "run_id": "run-7", "agent_name": "ams1-agent",
		"labels": map[string]any{"region": "eu", "pop": "ams1"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("metadata = %v\nwant %v", got, want)
	}

	// Defaults: no agent name, no version.
	b2, err := NewBatcher(RequestInfo{Backend: "vcenter_discovery"})
	if err != nil {
		t.Fatal(err)
	}
	b2.Add(siteEntity("s", ""))
	req2, err := b2.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if req2.ProducerAppName != "orbd/vcenter_discovery" || req2.ProducerAppVersion != "0.0.0" || req2.SdkVersion != "0.0.0" {
		t.Errorf("defaults: %q %q %q", req2.ProducerAppName, req2.ProducerAppVersion, req2.SdkVersion)
	}
	if _, err := NewBatcher(RequestInfo{}); err == nil {
		t.Error("empty backend accepted")
	}
}

func TestSemVer(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3": "1.2.3", "v1.2.3": "1.2.3", "v0.9.0-rc.1": "0.9.0", "2.0.1+dirty": "2.0.1",
		" v10.20.30 ": "10.20.30", "dev": "0.0.0", "": "0.0.0", "1.2": "0.0.0", "1.2.3.4": "0.0.0", "v1.2.3x": "0.0.0",
	} {
		if got := SemVer(in); got != want {
			t.Errorf("SemVer(%q) = %q, want %q", in, got, want)
		}
	}
}
