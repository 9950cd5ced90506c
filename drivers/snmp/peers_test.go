package snmp

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/snmp/snmptest"
	"github.com/orbd/orbd/internal/peertest"
	"github.com/orbd/orbd/policies"
)

const snmpsimData = "/usr/share/doc/snmpsim/examples/data"

// startProcess runs a peer until the test ends.
func startProcess(t testing.TB, logPath string, bin string, args ...string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
	})
}

// waitAgent polls a v2c GET of sysDescr.0 until the agent answers.
func waitAgent(t testing.TB, port int, community string, logPath string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Community: community, Version: gosnmp.Version2c, Timeout: 300 * time.Millisecond}
		if g.Connect() == nil {
			_, err := g.Get([]string{oidSysDescr})
			_ = g.Close()
			if err == nil {
				return
			}
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-t.Context().Done():
			return
		}
	}
	log, _ := os.ReadFile(logPath)
	t.Fatalf("agent on port %d did not answer; log tail:\n%s", port, tail(string(log), 2000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// snmpd users: name → auth, priv protocol (net-snmp spelling, gosnmp spelling).
var snmpdUsers = []struct {
	user, netAuth, netPriv, auth, priv string
}{
	{"u_sha_aes", "SHA", "AES", "SHA", "AES"},
	{"u_sha256_aes256", "SHA-256", "AES-256", "SHA256", "AES256"},
	{"u_md5_des", "MD5", "DES", "MD5", "DES"},
	{"u_sha512_aes192", "SHA-512", "AES-192", "SHA512", "AES192"},
}

// startSnmpd runs net-snmp snmpd on a free loopback port with community
// "public" and the v3 users above (auth "authpass123", priv "privpass123").
func startSnmpd(t testing.TB) int {
	t.Helper()
	bin := peertest.Require(t, "snmpd", "snmpd")
	dir := t.TempDir()
	var conf strings.Builder
	conf.WriteString("rocommunity public 127.0.0.1\nsysName orbd-snmpd-test\nsysLocation test-lab\n")
	for _, u := range snmpdUsers {
		fmt.Fprintf(&conf, "createUser %s %s \"authpass123\" %s \"privpass123\"\nrouser %s authpriv\n", u.user, u.netAuth, u.netPriv, u.user)
	}
	confPath := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	port := peertest.FreeUDPPort(t)
	logPath := filepath.Join(dir, "snmpd.log")
	startProcess(t, logPath, bin, "-f", "-Lo", "-C", "-c", confPath, "-p", filepath.Join(dir, "snmpd.pid"),
		"--persistentDir="+dir, "udp:127.0.0.1:"+strconv.Itoa(port))
	waitAgent(t, port, "public", logPath)
	return port
}

func v3auth(user, auth, authPass, priv, privPass string) *policies.SNMPAuth {
	return &policies.SNMPAuth{ProtocolVersion: "SNMPv3", SecurityLevel: "authPriv", Username: user,
		AuthProtocol: auth, AuthPassphrase: policies.Secret(authPass), PrivProtocol: priv, PrivPassphrase: policies.Secret(privPass)}
}

// net-snmp's ifTable reflects this host, so assert on structure.
func checkSnmpdDevice(t *testing.T, dev drivers.Device) {
	t.Helper()
	if dev.Name != "orbd-snmpd-test" || dev.Location != "test-lab" {
		t.Errorf("name %q location %q", dev.Name, dev.Location)
	}
	if dev.Manufacturer != "Net-SNMP" || dev.Platform != "Linux" || dev.OSVersion == "" {
		t.Errorf("manufacturer %q platform %q version %q", dev.Manufacturer, dev.Platform, dev.OSVersion)
	}
	loop := false
	var addrs []string
	for _, it := range dev.Interfaces {
		if it.Name == "" || it.Type == "" {
			t.Errorf("interface without name or type: %+v", it)
		}
		if it.Name == "lo" && it.Type == "virtual" {
			loop = true
		}
		for _, a := range it.Addresses {
			addrs = append(addrs, it.Name+"="+a.Prefix.String())
		}
	}
	if !loop {
		t.Errorf("no loopback interface among %d", len(dev.Interfaces))
	}
	if !containsStr(addrs, "lo=127.0.0.1/8") {
		t.Errorf("addresses %v lack lo=127.0.0.1/8", addrs)
	}
	if dev.MgmtAddress != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("mgmt address %v", dev.MgmtAddress)
	}
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestSnmpd(t *testing.T) {
	port := startSnmpd(t)
	tg := target(port)
	t.Run("v2c", func(t *testing.T) {
		d := newDriver(t, v2c("public"), one(port), nil)
		inv, err := d.Discover(ctxTimeout(t, 20*time.Second), tg)
		if err != nil {
			t.Fatal(err)
		}
		checkSnmpdDevice(t, inv.Devices[0])
	})
	for _, u := range snmpdUsers {
		t.Run("v3 authPriv "+u.auth+"/"+u.priv, func(t *testing.T) {
			d := newDriver(t, v3auth(u.user, u.auth, "authpass123", u.priv, "privpass123"), one(port), nil)
			inv, err := d.Discover(ctxTimeout(t, 20*time.Second), tg)
			if err != nil {
				t.Fatal(err)
			}
			checkSnmpdDevice(t, inv.Devices[0])
		})
	}
	for _, tc := range []struct {
		name string
		auth *policies.SNMPAuth
		want string
	}{
		{"wrong community", v2c("not-the-community"), "get system group: no response (wrong community or no agent?)"},
		{"wrong auth passphrase", v3auth("u_sha_aes", "SHA", "wrong-pass-1", "AES", "privpass123"), "get system group: authentication failed"},
		{"wrong auth protocol", v3auth("u_sha_aes", "MD5", "authpass123", "AES", "privpass123"), "get system group: authentication failed"},
		{"unknown user", v3auth("nobody", "SHA", "authpass123", "AES", "privpass123"), "get system group: authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t, tc.auth, one(port), func(c *policies.SNMPConfig) { c.SNMPTimeout = 0.5 })
			_, err := d.Discover(ctxTimeout(t, 20*time.Second), tg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			for _, secret := range []string{"not-the-community", "wrong-pass-1", "authpass123", "privpass123"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a secret: %q", err)
				}
			}
		})
	}
	t.Run("v3 probe", func(t *testing.T) {
		d := newDriver(t, v3auth("u_sha_aes", "SHA", "authpass123", "AES", "privpass123"), one(port), nil)
		if err := d.Probe(ctxTimeout(t, 5*time.Second), tg); err != nil {
			t.Fatalf("snmpd did not answer the credential-free probe: %v", err)
		}
	})
	t.Run("v2c probe wrong community is no answer", func(t *testing.T) {
		d := newDriver(t, v2c("not-the-community"), one(port), nil)
		if err := d.Probe(ctxTimeout(t, 5*time.Second), tg); !errors.Is(err, drivers.ErrNoAnswer) {
			t.Fatalf("got %v, want ErrNoAnswer", err)
		}
	})
}

// startSnmpsim serves recordings (names relative to snmpsimData, .snmprec
// or .snmprec.gz) decompressed into a private data dir; the community of
// each is its base name.
func startSnmpsim(t testing.TB, recordings ...string) int {
	t.Helper()
	bin := peertest.Require(t, "snmpsimd", "snmpsim")
	peertest.RequireRoot(t, "snmpsimd drops privileges to nobody")
	// snmpsimd runs as nobody: its directories must be reachable, which
	// t.TempDir's 0700 parent is not.
	dir, err := os.MkdirTemp("", "orbd-snmpsim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	data, cache := filepath.Join(dir, "data"), filepath.Join(dir, "cache")
	for _, p := range []string{data, cache} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	if err := os.Chown(cache, uid, gid); err != nil {
		t.Fatal(err)
	}
	for _, r := range recordings {
		b := readRecording(t, r)
		name := strings.TrimSuffix(filepath.Base(r), ".gz")
		if err := os.WriteFile(filepath.Join(data, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := peertest.FreeUDPPort(t)
	logPath := filepath.Join(dir, "snmpsimd.log")
	startProcess(t, logPath, bin, "--data-dir="+data, "--cache-dir="+cache,
		"--agent-udpv4-endpoint=127.0.0.1:"+strconv.Itoa(port), "--process-user=nobody", "--process-group=nogroup")
	waitAgent(t, port, communityOf(recordings[0]), logPath)
	return port
}

func communityOf(recording string) string {
	return strings.TrimSuffix(strings.TrimSuffix(filepath.Base(recording), ".gz"), ".snmprec")
}

// readRecording returns a shipped recording's text, decompressed.
func readRecording(t testing.TB, rel string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(snmpsimData, rel))
	if err != nil {
		peertest.Require(t, "snmpsimd", "snmpsim")
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(rel, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expectedInterfaces derives, from the recording alone, the interface names
// the device holds: ifName (IF-MIB ifXTable) when present, else ifDescr.
func expectedInterfaces(t testing.TB, rec *snmptest.Recording) []string {
	t.Helper()
	descr, name := map[int]string{}, map[int]string{}
	var order []int
	for _, v := range rec.Vars() {
		for _, col := range []struct {
			prefix string
			m      map[int]string
		}{{".1.3.6.1.2.1.2.2.1.2.", descr}, {".1.3.6.1.2.1.31.1.1.1.1.", name}} {
			if rest, ok := strings.CutPrefix(v.OID, col.prefix); ok {
				idx, err := strconv.Atoi(rest)
				if err != nil {
					t.Fatalf("bad ifIndex in %s", v.OID)
				}
				if _, seen := descr[idx]; !seen {
					if _, seen := name[idx]; !seen {
						order = append(order, idx)
					}
				}
				col.m[idx] = strings.TrimSpace(strings.TrimRight(string(v.Value.([]byte)), "\x00"))
			}
		}
	}
	var out []string
	seen := map[int]bool{}
	for _, idx := range order {
		if seen[idx] {
			continue
		}
		seen[idx] = true
		n := name[idx]
		if n == "" {
			n = descr[idx]
		}
		out = append(out, n)
	}
	return out
}

// Recorded real devices served by snmpsim: exactly the interfaces the
// recording holds, and the platform its sysDescr names.
func TestSnmpsimRecordings(t *testing.T) {
	recs := []struct {
		file                                   string
		manufacturer, platform, version, model string
	}{
		{"cisco_16_switch.snmprec.gz", "Cisco", "IOS", "12.2(55)SE10", ""},
		{"recorded/linux-full-walk.snmprec.gz", "Net-SNMP", "Linux", "2.6.21.5-smp", ""},
		{"recorded/winxp-full-walk.snmprec.gz", "Microsoft", "Windows", "5.1", ""},
	}
	files := make([]string, len(recs))
	for i, r := range recs {
		files[i] = r.file
	}
	port := startSnmpsim(t, files...)
	for _, r := range recs {
		t.Run(communityOf(r.file), func(t *testing.T) {
			rec, err := snmptest.ParseSnmprec(strings.NewReader(string(readRecording(t, r.file))))
			if err != nil {
				t.Fatal(err)
			}
			want := expectedInterfaces(t, rec)
			if len(want) == 0 {
				t.Fatal("recording has no interfaces")
			}
			d := newDriver(t, v2c(communityOf(r.file)), one(port), func(c *policies.SNMPConfig) { c.SNMPTimeout = 5 })
			inv, err := d.Discover(ctxTimeout(t, 60*time.Second), target(port))
			if err != nil {
				t.Fatal(err)
			}
			dev := inv.Devices[0]
			var got []string
			for _, it := range dev.Interfaces {
				got = append(got, it.Name)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("interfaces: got %d %q\nwant %d %q", len(got), got, len(want), want)
			}
			if dev.Manufacturer != r.manufacturer || dev.Platform != r.platform || dev.OSVersion != r.version {
				t.Errorf("got %q %q %q, want %q %q %q", dev.Manufacturer, dev.Platform, dev.OSVersion, r.manufacturer, r.platform, r.version)
			}
			if sysName := recValue(rec, oidSysName); dev.Name != sysName {
				t.Errorf("name %q, recording sysName %q", dev.Name, sysName)
			}
			if serial, model := chassisOf(rec); dev.Serial != serial || dev.Model != model {
				t.Errorf("serial %q model %q, recording's chassis has %q %q", dev.Serial, dev.Model, serial, model)
			}
			t.Logf("%s: %d interfaces, serial %q model %q", dev.Name, len(dev.Interfaces), dev.Serial, dev.Model)
		})
	}
}

func recValue(rec *snmptest.Recording, oid string) string {
	for _, v := range rec.Vars() {
		if v.OID == oid {
			if b, ok := v.Value.([]byte); ok {
				return strings.TrimSpace(string(b))
			}
		}
	}
	return ""
}

// chassisOf reads the first ENTITY-MIB chassis (class 3) of a recording.
func chassisOf(rec *snmptest.Recording) (serial, model string) {
	const ent = ".1.3.6.1.2.1.47.1.1.1.1."
	for _, v := range rec.Vars() {
		if idx, ok := strings.CutPrefix(v.OID, ent+"5."); ok && v.Value == 3 {
			return recValue(rec, ent+"11."+idx), recValue(rec, ent+"13."+idx)
		}
	}
	return "", ""
}
