package ssh

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/ssh/sshtest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json")

// profilePlatform names the collector for each sshtest profile.
var profilePlatform = map[string]string{
	"iosxe-c9300": PlatformIOSXE, "iosxe-csr1000v": PlatformIOSXE, "ios-isr2901": PlatformIOSXE,
	"iosv-noserial": PlatformIOSXE, "nxos-n9k": PlatformNXOS, "eos-7050": PlatformEOS,
	"iosxr-asr9k": PlatformIOSXR, "iosxr-xrv9k": PlatformIOSXR, "junos-mx": PlatformJunos,
}

// TestGolden runs every platform collector over every testdata profile
// (the same outputs the emulator serves) and compares the Device.
func TestGolden(t *testing.T) {
	for profile, pl := range profilePlatform {
		t.Run(profile, func(t *testing.T) {
			cmds, err := sshtest.LoadProfile(profile)
			if err != nil {
				t.Fatal(err)
			}
			d := &drivers.Device{Manufacturer: platforms[pl].manufacturer}
			_, capture := cmds["show running-config"]
			if _, ok := cmds["show configuration"]; ok {
				capture = true
			}
			if err := platforms[pl].collect(mapRunner(cmds), d, capture); err != nil {
				t.Fatal(err)
			}
			if d.Name == "" && pl == PlatformIOSXR {
				d.Name = hostFromXRPrompt("RP/0/RSP0/CPU0:" + sshtest.ProfileHostnames[profile] + "#")
			}
			got, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", profile+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from golden; diff with -update and git diff:\n%s", profile, got)
			}
			if strings.Contains(d.Config, "s3cr3t") || strings.Contains(d.Config, "$6$") || strings.Contains(d.Config, "$9$") {
				t.Errorf("running config keeps a secret:\n%s", d.Config)
			}
		})
	}
}

func mustProfile(t *testing.T, p string) map[string]string {
	t.Helper()
	m, err := sshtest.LoadProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
