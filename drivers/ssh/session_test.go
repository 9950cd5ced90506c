package ssh

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/ssh/sshtest"
)

// TestSessionMatchesParsers logs in to the emulator of every profile and
// checks that what comes through scrapligo (prompts, echo, paging,
// privilege) parses into the same Device as the raw testdata does: the
// session layer neither loses nor adds a line.
func TestSessionMatchesParsers(t *testing.T) {
	for profile, pl := range profilePlatform {
		t.Run(profile, func(t *testing.T) {
			cmds := mustProfile(t, profile)
			want := &drivers.Device{Manufacturer: platforms[pl].manufacturer, MgmtAddress: netip.MustParseAddr("127.0.0.1")}
			_, capture := cmds["show running-config"]
			if _, ok := cmds["show configuration"]; ok {
				capture = true
			}
			if err := platforms[pl].collect(mapRunner(cmds), want, capture); err != nil {
				t.Fatal(err)
			}
			if pl == PlatformIOSXR && want.Name == "" {
				want.Name = sshtest.ProfileHostnames[profile]
			}
			s, err := sshtest.Start("127.0.0.1:0", sshtest.Device{Platform: pl, Profile: profile, Password: "pw", EnableSecret: "en"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			got, err := Discover(ctx, Params{Conn: Conn{Host: "127.0.0.1", Port: s.Port(), Username: "admin", Password: "pw",
				HostKeyCallback: HostKeys{Policy: HostKeyInsecure}.Callback()}, Platform: pl, Secret: "en", CaptureConfig: capture})
			if err != nil {
				t.Fatal(err)
			}
			gj, _ := json.MarshalIndent(got, "", " ")
			wj, _ := json.MarshalIndent(want, "", " ")
			if string(gj) != string(wj) {
				t.Errorf("through the session:\n%s\nfrom testdata:\n%s", gj, wj)
			}
		})
	}
}
