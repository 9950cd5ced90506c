package vcenter

import (
	"context"
	"reflect"
	"strings"
	"sync"

	"github.com/vmware/govmomi/vim25/soap"
)

// countingRT counts SOAP calls per method so a run can report how many
// round trips it needed (the benchmark's figure and a debug log line).
type countingRT struct {
	next soap.RoundTripper

	mu     sync.Mutex
	total  int
	byName map[string]int
}

func newCountingRT(next soap.RoundTripper) *countingRT {
	return &countingRT{next: next, byName: map[string]int{}}
}

func (c *countingRT) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	c.add(methodName(req))
	return c.next.RoundTrip(ctx, req, res)
}

func (c *countingRT) add(name string) {
	c.mu.Lock()
	c.total++
	c.byName[name]++
	c.mu.Unlock()
}

func (c *countingRT) snapshot() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.byName))
	for k, v := range c.byName {
		m[k] = v
	}
	return c.total, m
}

// methodName turns *methods.RetrievePropertiesExBody into "RetrievePropertiesEx".
func methodName(req soap.HasFault) string {
	t := reflect.TypeOf(req)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "unknown"
	}
	return strings.TrimSuffix(t.Name(), "Body")
}
