package sshtest

import (
	"bufio"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	xssh "golang.org/x/crypto/ssh"
)

// dialect is how one platform's CLI looks.
type dialect struct {
	startPriv  bool   // logs in at the privileged prompt
	canEnable  bool   // has enable / disable
	more       string // pager prompt
	invalid    func(cmd string) string
	prompt     func(host, user string, priv bool) string
	pagerOff   []*regexp.Regexp
	silentCmds []*regexp.Regexp
}

func ciscoInvalid(cmd string) string {
	return strings.Repeat(" ", 6+len(cmd)/2) + "^\r\n% Invalid input detected at '^' marker.\r\n"
}

var dialects = map[string]dialect{
	"iosxe": {canEnable: true, more: " --More-- ", invalid: ciscoInvalid,
		prompt:   func(h, _ string, p bool) string { return h + map[bool]string{true: "#", false: ">"}[p] },
		pagerOff: res(`^terminal length 0$`), silentCmds: res(`^terminal width \d+$`, `^terminal no monitor$`)},
	"eos": {canEnable: true, more: " --More-- ", invalid: func(string) string { return "% Invalid input\r\n" },
		prompt:   func(h, _ string, p bool) string { return h + map[bool]string{true: "#", false: ">"}[p] },
		pagerOff: res(`^terminal length 0$`, `^terminal pager 0$`), silentCmds: res(`^terminal width \d+$`)},
	"nxos": {startPriv: true, more: "--More--", invalid: ciscoInvalid,
		prompt:   func(h, _ string, _ bool) string { return h + "# " },
		pagerOff: res(`^terminal length 0$`), silentCmds: res(`^terminal width \d+$`)},
	"iosxr": {startPriv: true, more: " --More-- ", invalid: ciscoInvalid,
		prompt:   func(h, _ string, _ bool) string { return "RP/0/RSP0/CPU0:" + h + "#" },
		pagerOff: res(`^terminal length 0$`), silentCmds: res(`^terminal width \d+$`)},
	"junos": {startPriv: true, more: "---(more)---", invalid: func(cmd string) string {
		return strings.Repeat(" ", len(cmd)/2) + "^\r\nunknown command.\r\n"
	},
		prompt:   func(h, u string, _ bool) string { return u + "@" + h + "> " },
		pagerOff: res(`^set cli screen-length 0$`), silentCmds: res(`^set cli screen-width \d+$`, `^set cli complete-on-space off$`)},
}

func res(p ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(p))
	for i, s := range p {
		out[i] = regexp.MustCompile(s)
	}
	return out
}

const pageLines = 24

// session is one interactive shell.
type session struct {
	s      *Server
	closed <-chan struct{} // the server is closing
	d      dialect
	ch     xssh.Channel
	r      *bufio.Reader
	priv   bool
	paging bool
}

func (s *Server) shell(ch xssh.Channel, closed <-chan struct{}) {
	ss := &session{s: s, closed: closed, d: dialects[s.dev.Platform], ch: ch, r: bufio.NewReader(ch), paging: true}
	ss.priv = ss.d.startPriv
	if s.dev.StallAfterLogin {
		// swallow input until the client gives up
		_, _ = ss.r.WriteTo(discard{})
		return
	}
	if s.dev.Banner != "" {
		ss.write(strings.ReplaceAll(s.dev.Banner, "\n", "\r\n") + "\r\n")
	}
	ss.write("\r\n" + ss.prompt())
	for {
		line, ok := ss.readLine(true)
		if !ok {
			return
		}
		if !ss.handle(strings.TrimSpace(line)) {
			return
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (ss *session) prompt() string {
	return ss.d.prompt(ss.s.dev.Hostname, ss.s.dev.Username, ss.priv)
}

func (ss *session) write(s string) bool {
	_, err := ss.ch.Write([]byte(s))
	return err == nil
}

// readLine reads up to CR or LF, echoing each byte as a terminal would
// (scrapligo waits for the echo before it sends the return).
func (ss *session) readLine(echo bool) (string, bool) {
	var b strings.Builder
	for {
		c, err := ss.r.ReadByte()
		if err != nil {
			return "", false
		}
		switch c {
		case '\r', '\n':
			if c == '\r' {
				if n, err := ss.r.Peek(1); err == nil && n[0] == '\n' {
					ss.r.ReadByte()
				}
			}
			return b.String(), true
		case 0x7f, 0x08:
			s := b.String()
			if len(s) > 0 {
				b.Reset()
				b.WriteString(s[:len(s)-1])
			}
			continue
		}
		b.WriteByte(c)
		// echo what has arrived in one write, as a terminal does; a byte
		// per SSH packet would make the emulator the bottleneck
		echoed := []byte{c}
		for ss.r.Buffered() > 0 {
			n, _ := ss.r.Peek(1)
			if n[0] == '\r' || n[0] == '\n' || n[0] == 0x7f || n[0] == 0x08 {
				break
			}
			c, _ = ss.r.ReadByte()
			b.WriteByte(c)
			echoed = append(echoed, c)
		}
		if echo {
			ss.write(string(echoed))
		}
	}
}

// handle runs one command line; false ends the session.
func (ss *session) handle(cmd string) bool {
	dev := ss.s.dev
	switch {
	case cmd == "":
		return ss.write("\r\n" + ss.prompt())
	case cmd == "exit" || cmd == "quit" || cmd == "logout":
		ss.write("\r\n")
		return false
	case ss.d.canEnable && cmd == "enable":
		if dev.EnableSecret != "" && !ss.priv {
			ss.write("\r\nPassword: ")
			pw, ok := ss.readLine(false)
			if !ok {
				return false
			}
			if pw != dev.EnableSecret {
				return ss.write("\r\n% Access denied\r\n\r\n" + ss.prompt())
			}
		}
		ss.priv = true
		return ss.write("\r\n" + ss.prompt())
	case ss.d.canEnable && cmd == "disable":
		ss.priv = false
		return ss.write("\r\n" + ss.prompt())
	}
	for _, re := range ss.d.pagerOff {
		if re.MatchString(cmd) {
			ss.paging = false
			return ss.write("\r\n" + ss.prompt())
		}
	}
	for _, re := range ss.d.silentCmds {
		if re.MatchString(cmd) {
			return ss.write("\r\n" + ss.prompt())
		}
	}
	ss.s.cmdN.Add(1)
	if !ss.wait(dev.Delay) {
		return false
	}
	out, ok := ss.s.cmds[cmd]
	if !ok {
		return ss.write("\r\n" + ss.d.invalid(cmd) + "\r\n" + ss.prompt())
	}
	if dev.Garbage {
		out = garbage()
	}
	if ss.d.canEnable && !ss.priv && strings.HasPrefix(cmd, "show running-config") {
		return ss.write("\r\n" + ss.d.invalid(cmd) + "\r\n" + ss.prompt())
	}
	if !ss.write("\r\n") {
		return false
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(out, "\r\n", "\n"), "\n"), "\n")
	for i := 0; i < len(lines); {
		n := len(lines) - i
		if ss.paging && n > pageLines-1 {
			n = pageLines - 1
		}
		if !ss.emit(strings.Join(lines[i:i+n], "\r\n") + "\r\n") {
			return false
		}
		i += n
		if i < len(lines) && ss.paging {
			ss.write(ss.d.more)
			c, err := ss.r.ReadByte()
			if err != nil {
				return false
			}
			ss.write("\r" + strings.Repeat(" ", len(ss.d.more)) + "\r")
			if c == 'q' || c == 'Q' {
				break
			}
		}
	}
	return ss.write(ss.prompt())
}

// emit writes output, in small slow pieces when SlowOutput is set.
func (ss *session) emit(s string) bool {
	if ss.s.dev.SlowOutput <= 0 {
		return ss.write(s)
	}
	for len(s) > 0 {
		n := min(32, len(s))
		if !ss.write(s[:n]) || !ss.wait(ss.s.dev.SlowOutput) {
			return false
		}
		s = s[n:]
	}
	return true
}

// wait pauses d unless the server closes first.
func (ss *session) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ss.closed:
		return false
	}
}

func garbage() string {
	var b strings.Builder
	for i := 0; i < 12; i++ {
		for j := 0; j < 60; j++ {
			b.WriteByte(byte('!' + rand.IntN(90)))
		}
		b.WriteString("\n")
	}
	return strings.NewReplacer("#", "*", ">", "*", "{", "(", "%", "&").Replace(b.String())
}
