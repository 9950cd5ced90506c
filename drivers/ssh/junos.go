package ssh

import (
	"errors"

	"github.com/orbd/orbd/drivers"
)

func collectJunos(r runner, d *drivers.Device, captureConfig bool) error {
	return errors.New("junos: not implemented yet")
}
