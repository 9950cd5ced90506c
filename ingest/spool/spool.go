// Package spool is the durable on-disk FIFO between the ingest pipeline and
// the network: every IngestRequest is written (and fsynced) here before it is
// sent, and removed only after Diode acknowledged it. Delivery is therefore
// at-least-once across outages, restarts and kill -9.
//
// Storage is a single bbolt file (spool.db) in the spool directory. bbolt was
// chosen over hand-rolled segment files because every Append/Ack is one
// copy-on-write transaction that is fsynced on commit: a crash at any moment
// leaves either the old or the new state, never a torn record, and
// deleting acknowledged records from the head needs no compaction logic of our
// own. Each record also carries a CRC32C so a damaged value is detected,
// logged, counted and skipped instead of being sent or crashing the agent.
//
// Usage (the gRPC sink does this):
//
//	sp, err := spool.Open(dir, maxBytes, logger, registerer)
//	err = sp.Append(ctx, req)          // durable when it returns
//	e, ok, err := sp.Peek(ctx)         // oldest record
//	err = sp.Ack(e.ID)                 // after the server answered
//
// The size cap counts stored record bytes; spool.db itself stays within
// about twice the cap because bbolt reuses freed pages (see
// TestFileStaysBoundedUnderChurn). When an Append would exceed it,
// the OLDEST records are dropped (logged at ERROR, counted in
// orbd_spool_dropped_entities_total): recent inventory supersedes old.
package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
)

// FileName is the bbolt file inside the spool directory.
const FileName = "spool.db"

var bucketName = []byte("requests")

// record layout: version(1) | crc32c(4) over the rest | entities(4) | proto bytes
const (
	recVersion = 1
	headerLen  = 9
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Entry is one spooled request.
type Entry struct {
	ID       uint64
	Req      *diodepb.IngestRequest
	Entities int
	Bytes    int // stored size, what the cap counts
}

// Spool is safe for concurrent use.
type Spool struct {
	db       *bolt.DB
	path     string
	maxBytes int64
	log      *slog.Logger

	mu       sync.Mutex
	entities int64
	bytes    int64
	records  int64

	depthEntities prometheus.Gauge
	depthBytes    prometheus.Gauge
	dropped       prometheus.Counter
	corrupt       prometheus.Counter
}

// Open opens (or creates) the spool in dir. maxBytes <= 0 means 1 GiB.
// logger and reg may be nil. A file that bbolt cannot open at all is moved
// aside (spool.db.corrupt-<unix>) and a fresh spool is started, logged at
// ERROR, so a damaged disk never keeps the agent from running.
func Open(dir string, maxBytes int64, logger *slog.Logger, reg prometheus.Registerer) (*Spool, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if maxBytes <= 0 {
		maxBytes = 1 << 30
	}
	if dir == "" {
		return nil, errors.New("spool: no directory configured")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &Spool{path: filepath.Join(dir, FileName), maxBytes: maxBytes, log: logger.With("spool", dir)}
	s.initMetrics(reg)

	db, err := openDB(s.path)
	if err != nil && !errors.Is(err, bolt.ErrTimeout) && !os.IsPermission(err) {
		aside := fmt.Sprintf("%s.corrupt-%d", s.path, time.Now().Unix())
		s.log.Error("spool file unreadable; moved aside, starting an empty spool (its requests are lost)",
			"file", s.path, "moved_to", aside, "err", err)
		s.corrupt.Inc()
		if rerr := os.Rename(s.path, aside); rerr != nil {
			return nil, fmt.Errorf("spool %s: %w (and moving it aside failed: %v)", s.path, err, rerr)
		}
		db, err = openDB(s.path)
	}
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("spool %s: locked by another process", s.path)
		}
		return nil, fmt.Errorf("spool %s: %w", s.path, err)
	}
	s.db = db
	if err := s.scan(); err != nil {
		db.Close()
		return nil, fmt.Errorf("spool %s: %w", s.path, err)
	}
	s.publish()
	if s.records > 0 {
		s.log.Info("spool reopened with pending requests", "requests", s.records, "entities", s.entities, "bytes", s.bytes)
	}
	return s, nil
}

func openDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (s *Spool) initMetrics(reg prometheus.Registerer) {
	s.depthEntities = prometheus.NewGauge(prometheus.GaugeOpts{Name: "orbd_spool_depth_entities", Help: "Entities waiting in the delivery spool."})
	s.depthBytes = prometheus.NewGauge(prometheus.GaugeOpts{Name: "orbd_spool_depth_bytes", Help: "Bytes of requests waiting in the delivery spool."})
	s.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "orbd_spool_dropped_entities_total", Help: "Entities dropped from the spool (oldest first) because the size cap was hit."})
	s.corrupt = prometheus.NewCounter(prometheus.CounterOpts{Name: "orbd_spool_corrupt_records_total", Help: "Spool records (or whole spool files) found damaged and skipped."})
	if reg == nil {
		return
	}
	s.depthEntities = register(reg, s.depthEntities).(prometheus.Gauge)
	s.depthBytes = register(reg, s.depthBytes).(prometheus.Gauge)
	s.dropped = register(reg, s.dropped).(prometheus.Counter)
	s.corrupt = register(reg, s.corrupt).(prometheus.Counter)
}

// register tolerates a second spool on the same registry (reopen after
// Close) by reusing the collector already there.
func register(reg prometheus.Registerer, c prometheus.Collector) prometheus.Collector {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector
		}
	}
	return c
}

// scan recomputes the depth and deletes damaged records.
func (s *Spool) scan() error {
	var bad [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketName).ForEach(func(k, v []byte) error {
			n, _, err := decodeHeader(v)
			if err != nil || len(k) != 8 {
				bad = append(bad, append([]byte(nil), k...))
				s.log.Error("spool record damaged; skipped", "key", fmt.Sprintf("%x", k), "err", err)
				return nil
			}
			s.records++
			s.entities += int64(n)
			s.bytes += int64(len(v))
			return nil
		})
	})
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		s.corrupt.Add(float64(len(bad)))
		return s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketName)
			for _, k := range bad {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return nil
}

func decodeHeader(v []byte) (entities int, body []byte, err error) {
	if len(v) < headerLen {
		return 0, nil, fmt.Errorf("record too short (%d bytes)", len(v))
	}
	if v[0] != recVersion {
		return 0, nil, fmt.Errorf("unknown record version %d", v[0])
	}
	if crc32.Checksum(v[5:], crcTable) != binary.BigEndian.Uint32(v[1:5]) {
		return 0, nil, errors.New("checksum mismatch")
	}
	return int(binary.BigEndian.Uint32(v[5:9])), v[headerLen:], nil
}

func encode(req *diodepb.IngestRequest) ([]byte, error) {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, err
	}
	v := make([]byte, headerLen+len(body))
	v[0] = recVersion
	binary.BigEndian.PutUint32(v[5:9], uint32(len(req.GetEntities())))
	copy(v[headerLen:], body)
	binary.BigEndian.PutUint32(v[1:5], crc32.Checksum(v[5:], crcTable))
	return v, nil
}

// Append stores req durably (fsynced) at the tail. If the cap would be
// exceeded, the oldest records are dropped first, loudly.
func (s *Spool) Append(ctx context.Context, req *diodepb.IngestRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := encode(req)
	if err != nil {
		return fmt.Errorf("spool: encode request %s: %w", req.GetId(), err)
	}
	if int64(len(v)) > s.maxBytes {
		return fmt.Errorf("spool: request %s is %d bytes, larger than the whole spool cap (%d bytes)", req.GetId(), len(v), s.maxBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var droppedRecs, droppedEnts, droppedBytes int64
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketName)
		c := b.Cursor()
		for k, old := c.First(); k != nil && s.bytes-droppedBytes+int64(len(v)) > s.maxBytes; k, old = c.Next() {
			n, _, _ := decodeHeader(old) // a damaged head record is dropped too; its count is 0
			droppedRecs++
			droppedEnts += int64(n)
			droppedBytes += int64(len(old))
			if err := c.Delete(); err != nil {
				return err
			}
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		return b.Put(k[:], v)
	})
	if err != nil {
		return fmt.Errorf("spool %s: append request %s: %w", s.path, req.GetId(), err)
	}
	if droppedRecs > 0 {
		s.log.Error("SPOOL FULL: dropped oldest undelivered requests to make room; that inventory is lost until the next discovery run",
			"cap_bytes", s.maxBytes, "dropped_requests", droppedRecs, "dropped_entities", droppedEnts, "dropped_bytes", droppedBytes)
		s.dropped.Add(float64(droppedEnts))
	}
	s.records += 1 - droppedRecs
	s.entities += int64(len(req.GetEntities())) - droppedEnts
	s.bytes += int64(len(v)) - droppedBytes
	s.publish()
	return nil
}

// Peek returns the oldest record; ok is false when the spool is empty.
func (s *Spool) Peek(ctx context.Context) (Entry, bool, error) {
	return s.Next(ctx, 0)
}

// Next returns the oldest record with ID > after, for pipelined replay.
// Damaged records met on the way are logged, counted and deleted.
func (s *Spool) Next(ctx context.Context, after uint64) (Entry, bool, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Entry{}, false, err
		}
		var (
			e      Entry
			found  bool
			badKey []byte
			badErr error
		)
		err := s.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketName).Cursor()
			var start [8]byte
			binary.BigEndian.PutUint64(start[:], after+1)
			k, v := c.Seek(start[:])
			if k == nil {
				return nil
			}
			n, body, err := decodeHeader(v)
			req := &diodepb.IngestRequest{}
			if err == nil {
				err = proto.Unmarshal(body, req)
			}
			if err != nil {
				badKey, badErr = append([]byte(nil), k...), err
				return nil
			}
			found = true
			e = Entry{ID: binary.BigEndian.Uint64(k), Req: req, Entities: n, Bytes: len(v)}
			return nil
		})
		if err != nil {
			return Entry{}, false, fmt.Errorf("spool %s: read: %w", s.path, err)
		}
		if badKey != nil {
			s.log.Error("spool record damaged; skipped", "key", fmt.Sprintf("%x", badKey), "err", badErr)
			s.corrupt.Inc()
			if err := s.remove(badKey); err != nil {
				return Entry{}, false, err
			}
			continue
		}
		return e, found, nil
	}
}

// Ack removes an acknowledged record. Acking a record that is already gone
// (dropped by the cap meanwhile) is not an error.
func (s *Spool) Ack(id uint64) error {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], id)
	return s.remove(k[:])
}

func (s *Spool) remove(k []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var size, n int64
	var had bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketName)
		v := b.Get(k)
		if v == nil {
			return nil
		}
		had = true
		size = int64(len(v))
		if ents, _, err := decodeHeader(v); err == nil {
			n = int64(ents)
		}
		return b.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("spool %s: delete %x: %w", s.path, k, err)
	}
	if had {
		s.records--
		s.entities -= n
		s.bytes -= size
		s.publish()
	}
	return nil
}

// Has reports whether record id is still spooled (not acked or dropped).
func (s *Spool) Has(id uint64) bool {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], id)
	found := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketName).Get(k[:]) != nil
		return nil
	})
	return found
}

// Depth reports what is waiting.
func (s *Spool) Depth() (records, entities, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records, s.entities, s.bytes
}

// Path is the bbolt file.
func (s *Spool) Path() string { return s.path }

func (s *Spool) publish() {
	s.depthEntities.Set(float64(s.entities))
	s.depthBytes.Set(float64(s.bytes))
}

// Close releases the file; pending records stay for the next Open.
func (s *Spool) Close() error {
	return s.db.Close()
}
