package controller

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine (transport, retry timer, test server) may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
