package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/protobuf/encoding/protojson"
)

// DryRunSink writes each request to its own file in the Diode SDK's
// dry-run format (indented protojson with proto field names, named
// <producer_app_name>_<unixnano>.json), so diode.LoadDryRunEntities and
// NetBox Labs' replay tool read them back. Files appear atomically: they
// are written and synced under a temporary name, then renamed.
type DryRunSink struct {
	dir string
	log *slog.Logger

	mu   sync.Mutex
	last int64 // last stamp handed out, so names never collide
}

// NewDryRunSink creates dir (0o750) if needed.
func NewDryRunSink(dir string, logger *slog.Logger) (*DryRunSink, error) {
	if dir == "" {
		return nil, errors.New("dry-run sink: output directory is empty")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("dry-run sink: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DryRunSink{dir: dir, log: logger}, nil
}

// Dir is where the files go.
func (s *DryRunSink) Dir() string { return s.dir }

var dryRunJSON = protojson.MarshalOptions{UseProtoNames: true, Indent: "  "}

// Send writes req to a new file.
func (s *DryRunSink) Send(ctx context.Context, req *diodepb.IngestRequest) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dry-run sink: request %s: %w", req.GetId(), err)
	}
	data, err := dryRunJSON.Marshal(req)
	if err != nil {
		return fmt.Errorf("dry-run sink: request %s: encode: %w", req.GetId(), err)
	}
	name := fmt.Sprintf("%s_%d.json", sanitizeAppName(req.GetProducerAppName()), s.stamp())
	if err := writeAtomic(s.dir, name, data); err != nil {
		return fmt.Errorf("dry-run sink: request %s: %w", req.GetId(), err)
	}
	s.log.Debug("dry-run request written", "file", filepath.Join(s.dir, name),
		"request_id", req.GetId(), "entities", len(req.GetEntities()), "bytes", len(data))
	return nil
}

// Close has nothing to flush: every Send is on disk when it returns.
func (s *DryRunSink) Close(context.Context) error { return nil }

// stamp is the wall clock in nanoseconds, bumped when two requests land
// in the same nanosecond (or the clock steps back) so names stay unique.
func (s *DryRunSink) stamp() int64 {
	n := time.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= s.last {
		n = s.last + 1
	}
	s.last = n
	return n
}

func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, ".dryrun-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Chmod(0o640); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("rename to %s: %w", name, err)
	}
	return nil
}

// sanitizeAppName is the SDK's rule: letters, digits, '_' and '-' stay,
// anything else becomes '_'.
func sanitizeAppName(app string) string {
	if app == "" {
		return "dryrun"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, app)
}
