package ssh

import (
	"errors"

	"github.com/orbd/orbd/drivers"
)

func collectNXOS(r runner, d *drivers.Device, captureConfig bool) error {
	return errors.New("nxos: not implemented yet")
}
