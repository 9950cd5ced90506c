package device

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of one policy. Deps.Metrics is policy-scoped: the agent adds the
// policy label and unregisters these when the policy goes. A registry
// shared without scoping (tests) reuses the registered collectors.
type metrics struct {
	sessions *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbd_device_discovery_sessions_total",
			Help: "Device sessions by transport (ssh|netconf) and result (ok|auth|host_key|timeout|error).",
		}, []string{"transport", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orbd_device_discovery_session_seconds",
			Help:    "Duration of one device session (login to logout) by transport.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"transport"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.sessions, err = register(reg, m.sessions); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register returns the collector already registered under the same name
// (another device_discovery policy registered it first).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ex, ok := are.ExistingCollector.(C); ok {
				return ex, nil
			}
		}
		return c, err
	}
	return c, nil
}
