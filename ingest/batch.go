package ingest

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// SDKName is what orbd puts in IngestRequest.sdk_name.
const SDKName = "orbd"

// Stream is the Diode stream every request goes to.
const Stream = "latest"

// RequestInfo stamps every request of one policy run.
type RequestInfo struct {
	AgentName string // orb.backends.common.diode.agent_name; "" → "orbd"
	Backend   string // e.g. "snmp_discovery"
	Version   string // orbd build version ("v1.2.3-rc1+dirty", "dev", …)
	Policy    string
	RunID     string
	Labels    map[string]string // orb.labels
}

// Batcher packs entities into IngestRequests that pass the server's rules:
// at most MaxEntitiesPerRequest entities and fewer than MaxRequestBytes
// bytes as measured by proto.Size. It is not safe for concurrent use.
type Batcher struct {
	tmpl        diodepb.IngestRequest // header fields; Id and Entities set per request
	maxEntities int
	maxBytes    int
	headerSize  int // proto.Size of a request without entities (the id is always 36 bytes)
	pending     []*diodepb.Entity
	size        int // headerSize + encoded size of pending
}

// NewBatcher builds a batcher with the default limits.
func NewBatcher(info RequestInfo) (*Batcher, error) {
	return newBatcher(info, MaxEntitiesPerRequest, MaxRequestBytes)
}

func newBatcher(info RequestInfo, maxEntities, maxBytes int) (*Batcher, error) {
	agent := info.AgentName
	if agent == "" {
		agent = "orbd"
	}
	if info.Backend == "" {
		return nil, errors.New("batcher: backend is empty")
	}
	labels := make(map[string]any, len(info.Labels))
	for _, k := range slices.Sorted(maps.Keys(info.Labels)) {
		labels[k] = info.Labels[k]
	}
	meta, err := structpb.NewStruct(map[string]any{
		"policy":     info.Policy,
		"backend":    info.Backend,
		"run_id":     info.RunID,
		"agent_name": agent,
		"labels":     labels,
	})
	if err != nil {
		return nil, fmt.Errorf("batcher: metadata: %w", err)
	}
	b := &Batcher{
		tmpl: diodepb.IngestRequest{
			Stream:             Stream,
			ProducerAppName:    truncRunes(agent+"/"+info.Backend, 255),
			ProducerAppVersion: truncRunes(first(strings.TrimSpace(info.Version), "0.0.0"), 255),
			SdkName:            SDKName,
			SdkVersion:         SemVer(info.Version),
			Metadata:           meta,
		},
		maxEntities: maxEntities,
		maxBytes:    maxBytes,
	}
	probe := b.request(nil)
	b.headerSize = proto.Size(probe)
	b.size = b.headerSize
	return b, nil
}

// errOversize marks an entity no request can carry.
var errOversize = errors.New("larger than any request may be")

// semverCore is the part of a version Diode's sdk_version accepts.
var semverCore = regexp.MustCompile(`^\d+\.\d+\.\d+`)

// SemVer turns a build version into Diode's sdk_version (^\d+\.\d+\.\d+$):
// a leading "v" and any pre-release or build suffix are dropped; anything
// else ("dev", "1.2") becomes "0.0.0".
func SemVer(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	core := semverCore.FindString(v)
	if core == "" {
		return "0.0.0"
	}
	if rest := v[len(core):]; rest != "" && rest[0] != '-' && rest[0] != '+' {
		return "0.0.0"
	}
	return core
}

func truncRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// entitySize is what one entity adds to a request: field 2's tag, the
// length prefix and the message.
func entitySize(e *diodepb.Entity) int {
	return protowire.SizeTag(2) + protowire.SizeBytes(proto.Size(e))
}

// Len is the number of entities waiting in the current batch.
func (b *Batcher) Len() int { return len(b.pending) }

// Add appends e. When e does not fit in the current batch, or fills it to
// the entity limit, the completed request is returned (already validated);
// otherwise nil. An entity too large for any request is an error naming it
// and is not added; so is a completed request that fails validation.
func (b *Batcher) Add(e *diodepb.Entity) (*diodepb.IngestRequest, error) {
	es := entitySize(e)
	if b.headerSize+es >= b.maxBytes {
		kind, name := describe(e)
		return nil, fmt.Errorf("entity %s %q is %d bytes encoded, %w (%d bytes with the request header)", kind, name, es, errOversize, b.maxBytes)
	}
	var out *diodepb.IngestRequest
	var err error
	if len(b.pending) > 0 && b.size+es >= b.maxBytes {
		out, err = b.Flush()
	}
	b.pending = append(b.pending, e)
	b.size += es
	if len(b.pending) >= b.maxEntities {
		if out != nil || err != nil {
			// Only reachable with maxEntities == 1; keep the first result.
			return out, err
		}
		return b.Flush()
	}
	return out, err
}

// Flush cuts the current batch into a validated request; nil when empty.
func (b *Batcher) Flush() (*diodepb.IngestRequest, error) {
	if len(b.pending) == 0 {
		return nil, nil
	}
	req := b.request(b.pending)
	b.pending = make([]*diodepb.Entity, 0, min(b.maxEntities, 2*len(req.Entities)))
	b.size = b.headerSize
	if err := req.Validate(); err != nil {
		return nil, validationError(req, err)
	}
	return req, nil
}

func (b *Batcher) request(ents []*diodepb.Entity) *diodepb.IngestRequest {
	return &diodepb.IngestRequest{
		Stream:             b.tmpl.Stream,
		Entities:           ents,
		Id:                 uuid.NewString(),
		ProducerAppName:    b.tmpl.ProducerAppName,
		ProducerAppVersion: b.tmpl.ProducerAppVersion,
		SdkName:            b.tmpl.SdkName,
		SdkVersion:         b.tmpl.SdkVersion,
		Metadata:           b.tmpl.Metadata,
	}
}

// validationError names the first violation of req, with the entity's kind
// and name when an entity is at fault.
func validationError(req *diodepb.IngestRequest, err error) error {
	var ve diodepb.IngestRequestValidationError
	if errors.As(err, &ve) {
		if f := ve.Field(); strings.HasPrefix(f, "Entities[") {
			if i, perr := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f, "Entities["), "]")); perr == nil && i < len(req.Entities) {
				kind, name := describe(req.Entities[i])
				return fmt.Errorf("request %s invalid, not sent: entity %d (%s %q): %w", req.Id, i, kind, name, err)
			}
		}
	}
	return fmt.Errorf("request %s invalid, not sent: %w", req.Id, err)
}
