package agent

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: Run, Apply, RunOnce, Watch
// and the pool all wait for what they start.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
