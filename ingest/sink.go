// Package ingest turns driver-neutral inventories into Diode entities,
// packs them into requests that pass the Diode server's rules, and hands
// them to a Sink (dry-run files, or the gRPC client with its spool).
package ingest

import (
	"context"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
)

// Sink delivers complete, validated IngestRequests.
//
// Send returning nil means the request is safe: written to a dry-run file,
// or durably spooled for the network. Send must not keep req after it
// returns unless it copied it.
type Sink interface {
	Send(ctx context.Context, req *diodepb.IngestRequest) error
	// Close flushes what is buffered, bounded by ctx, and releases resources.
	Close(ctx context.Context) error
}

// Limits from docs/diode-wire.md: the server takes at most 1000 entities
// per request and keeps gRPC's 4 MiB receive limit; we stay under 3 MiB.
const (
	MaxEntitiesPerRequest = 1000
	MaxRequestBytes       = 3 << 20
)
