package spool

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/orbd/orbd/ingest/diodetest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func req(id string, n int) *diodepb.IngestRequest {
	r := &diodepb.IngestRequest{Stream: "latest", Id: id, ProducerAppName: "orbd", ProducerAppVersion: "0.1.0", SdkName: "orbd", SdkVersion: "0.1.0"}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-dev%d", id, i)
		r.Entities = append(r.Entities, &diodepb.Entity{Timestamp: timestamppb.New(time.Unix(1700000000, 0)),
			Entity: &diodepb.Entity_Device{Device: &diodepb.Device{Name: &name}}})
	}
	return r
}

func open(t *testing.T, dir string, max int64, reg prometheus.Registerer) *Spool {
	t.Helper()
	s, err := Open(dir, max, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestFIFOAckAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	s := open(t, dir, 0, reg)
	for i := 0; i < 5; i++ {
		if err := s.Append(ctx, req(fmt.Sprintf("r%d", i), i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if recs, ents, _ := s.Depth(); recs != 5 || ents != 15 {
		t.Fatalf("depth = %d records %d entities, want 5/15", recs, ents)
	}
	e, ok, err := s.Peek(ctx)
	if err != nil || !ok || e.Req.Id != "r0" || e.Entities != 1 {
		t.Fatalf("peek = %+v %v %v", e, ok, err)
	}
	// Next walks past the head without removing it.
	e2, ok, _ := s.Next(ctx, e.ID)
	if !ok || e2.Req.Id != "r1" {
		t.Fatalf("next = %v %v", e2.Req.GetId(), ok)
	}
	if err := s.Ack(e.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(e.ID); err != nil { // double ack is harmless
		t.Fatal(err)
	}
	s.Close()

	s2 := open(t, dir, 0, reg) // same registry: reuses collectors
	if got := testutil.ToFloat64(s2.depthEntities); got != 14 {
		t.Fatalf("depth gauge after reopen = %v, want 14", got)
	}
	var ids []string
	for {
		e, ok, err := s2.Peek(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if !proto.Equal(e.Req, req(e.Req.Id, e.Entities)) {
			t.Fatalf("record %s content changed", e.Req.Id)
		}
		ids = append(ids, e.Req.Id)
		if err := s2.Ack(e.ID); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(ids) != "[r1 r2 r3 r4]" {
		t.Fatalf("replay order = %v", ids)
	}
	if recs, ents, bytes := s2.Depth(); recs != 0 || ents != 0 || bytes != 0 {
		t.Fatalf("depth after drain = %d %d %d", recs, ents, bytes)
	}
}

func TestCapDropsOldest(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	one, _ := encode(req("r0", 10))
	// room for three records of this size, not four
	s := open(t, t.TempDir(), int64(len(one))*3+int64(len(one))/2, reg)
	for i := 0; i < 5; i++ {
		if err := s.Append(ctx, req(fmt.Sprintf("r%d", i), 10)); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(s.dropped); got != 20 {
		t.Fatalf("dropped entities = %v, want 20", got)
	}
	e, _, _ := s.Peek(ctx)
	if e.Req.Id != "r2" {
		t.Fatalf("head after drops = %s, want r2 (oldest dropped first)", e.Req.Id)
	}
	if recs, ents, _ := s.Depth(); recs != 3 || ents != 30 {
		t.Fatalf("depth = %d/%d", recs, ents)
	}
	// One request larger than the whole cap is refused, not silently dropped.
	if err := s.Append(ctx, req("huge", 100)); err == nil {
		t.Fatal("oversized request accepted")
	}
}

func TestCorruptRecordSkipped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, 0, nil)
	for i := 0; i < 3; i++ {
		if err := s.Append(ctx, req(fmt.Sprintf("r%d", i), 2)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Flip a byte inside the middle record's value, as a bad disk would.
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], 2)
		b := tx.Bucket(bucketName)
		v := append([]byte(nil), b.Get(k[:])...)
		v[len(v)-3] ^= 0xff
		return b.Put(k[:], v)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	reg := prometheus.NewRegistry()
	s2 := open(t, dir, 0, reg)
	if got := testutil.ToFloat64(s2.corrupt); got != 1 {
		t.Fatalf("corrupt counter = %v", got)
	}
	var ids []string
	for {
		e, ok, err := s2.Peek(ctx)
		if err != nil || !ok {
			break
		}
		ids = append(ids, e.Req.Id)
		s2.Ack(e.ID)
	}
	if fmt.Sprint(ids) != "[r0 r2]" {
		t.Fatalf("got %v", ids)
	}
}

func TestCorruptFileMovedAside(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("this is not a bbolt file, just garbage bytes........................"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := open(t, dir, 0, reg)
	if err := s.Append(context.Background(), req("after", 1)); err != nil {
		t.Fatal(err)
	}
	m, _ := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*"))
	if len(m) != 1 {
		t.Fatalf("damaged file not kept aside: %v", m)
	}
	if got := testutil.ToFloat64(s.corrupt); got != 1 {
		t.Fatalf("corrupt counter = %v", got)
	}
}

func TestLockedBySecondOpen(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, 0, nil)
	if _, err := Open(dir, 0, nil, nil); err == nil {
		t.Fatal("second Open of a locked spool succeeded")
	}
}

func BenchmarkWriteReplay(b *testing.B) {
	ctx := context.Background()
	r := diodetest.SampleRequest(1, 1000) // realistic entity sizes
	size, _ := encode(r)
	s, err := Open(b.TempDir(), 0, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := s.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	write := time.Since(start)
	start = time.Now()
	for {
		e, ok, err := s.Peek(ctx)
		if err != nil || !ok {
			break
		}
		s.Ack(e.ID)
	}
	replay := time.Since(start)
	ents := float64(b.N * 1000)
	mb := float64(b.N*len(size)) / 1e6
	b.ReportMetric(ents/write.Seconds(), "write_entities/s")
	b.ReportMetric(mb/write.Seconds(), "write_MB/s")
	b.ReportMetric(ents/replay.Seconds(), "replay_entities/s")
	b.ReportMetric(mb/replay.Seconds(), "replay_MB/s")
}
