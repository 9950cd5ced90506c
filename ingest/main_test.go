package ingest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a Run's flush goroutine outlives Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
