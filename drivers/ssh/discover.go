package ssh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/scrapli/scrapligo/driver/generic"
	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/opoptions"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/platform"
	"github.com/scrapli/scrapligo/util"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// Platforms orbd drives over the CLI. device_discovery's `driver:` names
// map onto these (ios and iosxe → iosxe, nxos_ssh → nxos, …).
const (
	PlatformIOSXE = "iosxe"
	PlatformNXOS  = "nxos"
	PlatformEOS   = "eos"
	PlatformIOSXR = "iosxr"
	PlatformJunos = "junos"
)

// Params are one CLI discovery.
type Params struct {
	Conn
	// Platform is one of the Platform constants; "" detects it from the
	// output of `show version`, which costs one extra login.
	Platform      string
	Secret        policies.Secret // enable secret (IOS, EOS)
	CaptureConfig bool
	Logger        *slog.Logger
}

// ErrUnsupportedCommand is wrapped when the device rejects a command
// ("% Invalid input"); optional commands are then skipped.
var ErrUnsupportedCommand = errors.New("command not supported by device")

// runner runs one CLI command and returns its output. Parsers and
// collectors only see this, so they are unit-testable from testdata.
type runner interface {
	Run(cmd string) (string, error)
}

type collectFunc func(r runner, dev *drivers.Device, captureConfig bool) error

type platformDef struct {
	scrapli      string // scrapligo platform definition name
	manufacturer string
	collect      collectFunc
}

var platforms = map[string]platformDef{
	PlatformIOSXE: {scrapli: platform.CiscoIosxe, manufacturer: "Cisco", collect: collectIOS},
	PlatformNXOS:  {scrapli: platform.CiscoNxos, manufacturer: "Cisco", collect: collectNXOS},
	PlatformEOS:   {scrapli: platform.AristaEos, manufacturer: "Arista", collect: collectEOS},
	PlatformIOSXR: {scrapli: platform.CiscoIosxr, manufacturer: "Cisco", collect: collectIOSXR},
	PlatformJunos: {scrapli: platform.JuniperJunos, manufacturer: "Juniper", collect: collectJunos},
}

// Discover logs in, collects facts, interfaces, addresses, VLANs (and the
// masked running config when asked) and returns the device. Every error
// names the step that failed; ctx bounds the whole session.
func Discover(ctx context.Context, p Params) (*drivers.Device, error) {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if p.Platform == "" {
		pl, err := Detect(ctx, p.Conn)
		if err != nil {
			return nil, err
		}
		log.Debug("platform detected", "target", p.Addr(), "platform", pl)
		p.Platform = pl
	}
	def, ok := platforms[p.Platform]
	if !ok {
		return nil, fmt.Errorf("unknown CLI platform %q", p.Platform)
	}
	client, err := Dial(ctx, p.Conn)
	if err != nil {
		return nil, err
	}
	stop := closeOnDone(ctx, client)
	defer stop()
	tr := &shellTransport{client: client}
	opts := []util.Option{
		options.WithCustomTransport(tr),
		options.WithAuthUsername(p.Username),
		options.WithTimeoutOps(opTimeout(ctx)),
		options.WithTermWidth(511),
	}
	if p.Secret.IsSet() {
		opts = append(opts, options.WithAuthSecondary(p.Secret.Reveal()))
	}
	pl, err := platform.NewPlatform(def.scrapli, p.Host, opts...)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("scrapligo platform %s: %w", def.scrapli, err)
	}
	d, err := pl.GetNetworkDriver()
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("scrapligo platform %s: %w", def.scrapli, err)
	}
	if err := d.Open(); err != nil {
		client.Close()
		if errors.Is(err, util.ErrPrivilegeError) && ctx.Err() == nil {
			// the usual cause; the secret itself is never in the error
			return nil, fmt.Errorf("open %s CLI session: enable refused or no privileged prompt (check optional_args.secret): %w", p.Platform, err)
		}
		return nil, ctxErr(ctx, fmt.Errorf("open %s CLI session (prompt, privilege, paging): %w", p.Platform, err))
	}
	r := &scrapliRunner{d: d}
	dev := &drivers.Device{Manufacturer: def.manufacturer}
	if a, err := netip.ParseAddr(p.Host); err == nil {
		dev.MgmtAddress = a
	}
	if p.Platform == PlatformIOSXR {
		// IOS-XR 7 prints no hostname in show version; the prompt has it.
		if prompt, err := d.GetPrompt(); err == nil {
			dev.Name = hostFromXRPrompt(prompt)
		}
	}
	cerr := def.collect(r, dev, p.CaptureConfig)
	if cerr != nil {
		// skip the polite exit: the session may be stalled; connection
		// first, as in Detect
		client.Close()
		_ = d.Channel.Close()
		return nil, ctxErr(ctx, cerr)
	}
	_ = d.Close()
	client.Close()
	log.Debug("CLI discovery done", "target", p.Addr(), "platform", p.Platform, "interfaces", len(dev.Interfaces))
	if dev.Name == "" {
		return nil, fmt.Errorf("%s: no hostname in the device output", p.Platform)
	}
	return dev, nil
}

var xrPrompt = regexp.MustCompile(`:([\w.\-]+)#\s*$`)

func hostFromXRPrompt(p string) string {
	if m := xrPrompt.FindStringSubmatch(strings.TrimSpace(p)); m != nil {
		return m[1]
	}
	return strings.TrimRight(strings.TrimSpace(p), "#>")
}

// opTimeout bounds each scrapligo operation by what is left of ctx.
func opTimeout(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d > 0 {
			return d
		}
		return time.Millisecond
	}
	return 60 * time.Second
}

// ctxErr prefers the context's error when it ended the session, so a
// stalled device reads "context deadline exceeded" rather than a closed pipe.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// scrapliRunner runs commands through a scrapligo network driver.
type scrapliRunner struct {
	d *network.Driver
}

func (r *scrapliRunner) Run(cmd string) (string, error) {
	// scrapligo would strip prompts with its multi-line prompt regexp over
	// the whole output, a tenth of a session's CPU; only the last line can
	// be the prompt, so stripPrompt looks there alone
	resp, err := r.d.SendCommand(cmd, opoptions.WithNoStripPrompt())
	if err != nil {
		return "", fmt.Errorf("%s: %w", cmd, err)
	}
	if resp.Failed != nil {
		if invalidInput(resp.Result) {
			return "", fmt.Errorf("%s: %w: %s", cmd, ErrUnsupportedCommand, firstLine(resp.Result))
		}
		return "", fmt.Errorf("%s: %w", cmd, resp.Failed)
	}
	return stripPrompt(resp.Result, r.d.Channel.PromptPattern), nil
}

// stripPrompt removes the trailing prompt line from a command's output.
func stripPrompt(out string, prompt *regexp.Regexp) string {
	i := strings.LastIndexByte(out, '\n')
	if !prompt.MatchString(out[i+1:]) {
		return out
	}
	return strings.Trim(out[:i+1], "\n")
}

func invalidInput(out string) bool {
	for _, m := range []string{"% Invalid input", "% Invalid command", "unknown command", "syntax error", "% Incomplete command"} {
		if strings.Contains(out, m) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && strings.Trim(l, "^ ") != "" {
			return l
		}
	}
	return ""
}

// optional runs a command whose absence on some models is normal (show vlan
// on a router). It returns "" when the device rejects the command.
func optional(r runner, cmd string) (string, error) {
	out, err := r.Run(cmd)
	if errors.Is(err, ErrUnsupportedCommand) {
		return "", nil
	}
	return out, err
}

// Detect logs in with a generic prompt pattern, runs `show version` and
// names the platform from what it prints.
func Detect(ctx context.Context, c Conn) (string, error) {
	client, err := Dial(ctx, c)
	if err != nil {
		return "", err
	}
	stop := closeOnDone(ctx, client)
	defer stop()
	defer client.Close()
	d, err := generic.NewDriver(c.Host,
		options.WithCustomTransport(&shellTransport{client: client}),
		options.WithTimeoutOps(opTimeout(ctx)),
		options.WithPromptPattern(genericPrompt),
	)
	if err != nil {
		return "", fmt.Errorf("detect: %w", err)
	}
	if err := d.Open(); err != nil {
		return "", ctxErr(ctx, fmt.Errorf("detect: open CLI session: %w", err))
	}
	// close the connection first: that ends scrapligo's blocked read at
	// once, where Channel.Close alone waits 62.5 ms before forcing it
	defer func() {
		client.Close()
		_ = d.Channel.Close()
	}()
	// paging off in the dialects that have it; errors are expected on the others
	_, _ = d.SendCommand("terminal length 0")
	resp, err := d.SendCommand("show version")
	if err != nil {
		return "", ctxErr(ctx, fmt.Errorf("detect: show version: %w", err))
	}
	pl := PlatformFromVersion(resp.Result)
	if pl == "" {
		return "", fmt.Errorf("detect: show version output matches no supported platform (first line %q)", firstLine(resp.Result))
	}
	return pl, nil
}

var genericPrompt = regexp.MustCompile(`(?m)^[\w.\-@()/:\[\]~ ]{1,80}[>#$%]\s?$`)

// PlatformFromVersion names the CLI platform from `show version` output.
func PlatformFromVersion(out string) string {
	switch {
	case strings.Contains(out, "Cisco IOS XR Software"), strings.Contains(out, "IOS-XR"):
		return PlatformIOSXR
	case strings.Contains(out, "Cisco Nexus Operating System"), strings.Contains(out, "NX-OS"):
		return PlatformNXOS
	case strings.Contains(out, "Arista"):
		return PlatformEOS
	case strings.Contains(out, "JUNOS"), strings.Contains(out, "Junos:"):
		return PlatformJunos
	case strings.Contains(out, "Cisco IOS Software"), strings.Contains(out, "Cisco IOS XE Software"), strings.Contains(out, "IOS-XE"):
		return PlatformIOSXE
	}
	return ""
}
