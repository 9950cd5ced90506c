package spool

import (
	"context"
	"os"
	"testing"

	"github.com/orbd/orbd/ingest/diodetest"
)

// The cap bounds the file, not only the count: bbolt reuses the pages of
// dropped and acknowledged records, so a long outage with steady appends
// (cap drops) followed by replay (acks) does not grow spool.db without end.
func TestFileStaysBoundedUnderChurn(t *testing.T) {
	ctx := context.Background()
	const capBytes = 512 << 10
	s := open(t, t.TempDir(), capBytes, nil)
	r := diodetest.SampleRequest(1, 200) // ~22 kB stored
	// 8 rounds write ~7 MB in all; without page reuse the file would grow
	// past that. bbolt grows its file in steps (and a page freed while a
	// read is open is reused a transaction later), so the bound is on the
	// size, not on monotonicity: a few times the cap, every round.
	const bound = 4 * capBytes
	for round := 0; round < 8; round++ {
		for i := 0; i < 40; i++ { // outage: 40 × 22 kB against a 512 KiB cap
			if err := s.Append(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, b := s.Depth(); b > capBytes {
			t.Fatalf("depth %d bytes over the %d cap", b, capBytes)
		}
		for { // recovery: replay everything
			e, ok, err := s.Peek(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			if err := s.Ack(e.ID); err != nil {
				t.Fatal(err)
			}
		}
		fi, err := os.Stat(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: spool.db %d bytes", round, fi.Size())
		if fi.Size() > bound {
			t.Fatalf("spool.db is %d bytes after round %d for a %d-byte cap: pages not reused", fi.Size(), round, capBytes)
		}
	}
}
