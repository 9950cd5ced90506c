package controllertest

import (
	"context"
	"fmt"
	"sync"
)

// DemoCatalyst starts a plaintext Catalyst Center on 127.0.0.1 and returns
// the controller_discovery policy body (config + scope) that discovers it.
// stop (or ctx's end) shuts it down.
func DemoCatalyst(ctx context.Context) (policyYAML string, stop func(), err error) {
	c, err := NewCatalyst(Options{})
	if err != nil {
		return "", nil, err
	}
	y := fmt.Sprintf("config:\n  timeout: 60\nscope:\n  kind: catalyst_center\n  url: %s\n  username: %s\n  password: %q\n",
		c.URL(), c.Username, c.Password)
	return y, stopOnDone(ctx, c.Close), nil
}

// DemoMist starts a plaintext Mist API on 127.0.0.1 and returns the
// controller_discovery policy body that discovers its org.
func DemoMist(ctx context.Context) (policyYAML string, stop func(), err error) {
	m, err := NewMist(Options{})
	if err != nil {
		return "", nil, err
	}
	y := fmt.Sprintf("config:\n  timeout: 60\nscope:\n  kind: mist\n  url: %s\n  token: %q\n  org_id: %s\n",
		m.URL(), m.Token, m.OrgID)
	return y, stopOnDone(ctx, m.Close), nil
}

// stopOnDone closes once, on stop or when ctx ends, whichever is first.
func stopOnDone(ctx context.Context, closeFn func()) func() {
	var once sync.Once
	done := make(chan struct{})
	stop := func() { once.Do(func() { close(done); closeFn() }) }
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-done:
		}
	}()
	return stop
}
