// Command orbd is the network discovery agent. This package holds flags,
// signals and wiring only; the logic lives in agent/, drivers/, ingest/
// and policies/.
package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=1.2.3".
var version = "0.1.0-dev"

func main() {
	if err := newRootCmd(os.Stdout, os.Stderr).Execute(); err != nil {
		// cobra already printed usage errors; exitError carries a code.
		code := 1
		if e, ok := err.(exitError); ok {
			code = e.code
			if e.msg != "" {
				fmt.Fprintln(os.Stderr, "orbd:", e.msg)
			}
		} else {
			fmt.Fprintln(os.Stderr, "orbd:", err)
		}
		os.Exit(code)
	}
}

// exitError ends the process with a code; msg may be empty when the
// command already explained itself.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }
