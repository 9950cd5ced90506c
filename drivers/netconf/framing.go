package netconf

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"

	gonetconf "github.com/Juniper/go-netconf/netconf"
)

const (
	eom = "]]>]]>"
	// MaxMessage bounds one NETCONF message; a device streaming forever
	// fails its target instead of the agent's memory.
	MaxMessage = 64 << 20
)

// Framer implements go-netconf's Transport with both framings.
type Framer struct {
	r      *bufio.Reader
	w      io.Writer
	c      io.Closer
	v11    bool
	maxMsg int
}

var _ gonetconf.Transport = (*Framer)(nil)

// NewFramer frames messages over r/w; c is closed by Close.
func NewFramer(r io.Reader, w io.Writer, c io.Closer) *Framer {
	return &Framer{r: bufio.NewReaderSize(r, 64<<10), w: w, c: c, maxMsg: MaxMessage}
}

// SetVersion switches to chunked framing for "v1.1" (go-netconf's spelling).
func (f *Framer) SetVersion(v string) { f.v11 = v == "v1.1" }

// Chunked reports whether base:1.1 framing is in use.
func (f *Framer) Chunked() bool { return f.v11 }

func (f *Framer) Close() error {
	if f.c == nil {
		return nil
	}
	return f.c.Close()
}

// Send writes one message.
func (f *Framer) Send(b []byte) error {
	var buf bytes.Buffer
	if f.v11 {
		fmt.Fprintf(&buf, "\n#%d\n", len(b))
		buf.Write(b)
		buf.WriteString("\n##\n")
	} else {
		buf.Write(b)
		buf.WriteString(eom)
	}
	_, err := f.w.Write(buf.Bytes())
	return err
}

// Receive reads one message.
func (f *Framer) Receive() ([]byte, error) {
	if f.v11 {
		return f.readChunked()
	}
	return f.readEOM()
}

func (f *Framer) readEOM() ([]byte, error) {
	var out []byte
	for {
		b, err := f.r.ReadSlice('>')
		out = append(out, b...)
		if len(out) > f.maxMsg {
			return nil, fmt.Errorf("netconf: message larger than %d bytes", f.maxMsg)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if bytes.HasSuffix(out, []byte(eom)) {
			return out[:len(out)-len(eom)], nil
		}
	}
}

// readChunked decodes RFC 6242 section 4.2 chunked framing.
func (f *Framer) readChunked() ([]byte, error) {
	var out []byte
	for {
		// each chunk header is "\n#<size>\n"; the end is "\n##\n"
		if err := f.expect('\n'); err != nil {
			return nil, err
		}
		if err := f.expect('#'); err != nil {
			return nil, err
		}
		c, err := f.r.ReadByte()
		if err != nil {
			return nil, unexpected(err)
		}
		if c == '#' {
			if err := f.expect('\n'); err != nil {
				return nil, err
			}
			return out, nil
		}
		digits := []byte{c}
		for {
			c, err = f.r.ReadByte()
			if err != nil {
				return nil, unexpected(err)
			}
			if c == '\n' {
				break
			}
			if c < '0' || c > '9' || len(digits) > 10 {
				return nil, fmt.Errorf("netconf: bad chunk header %q", string(append(digits, c)))
			}
			digits = append(digits, c)
		}
		n, err := strconv.Atoi(string(digits))
		if err != nil || n < 1 || digits[0] == '0' {
			return nil, fmt.Errorf("netconf: bad chunk size %q", digits)
		}
		if len(out)+n > f.maxMsg {
			return nil, fmt.Errorf("netconf: message larger than %d bytes", f.maxMsg)
		}
		start := len(out)
		out = append(out, make([]byte, n)...)
		if _, err := io.ReadFull(f.r, out[start:]); err != nil {
			return nil, unexpected(err)
		}
	}
}

func (f *Framer) expect(want byte) error {
	c, err := f.r.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	if c != want {
		return fmt.Errorf("netconf: chunked framing: got %q, want %q", c, want)
	}
	return nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// SendHello sends our hello (always end-of-message framed).
func (f *Framer) SendHello(h *gonetconf.HelloMessage) error {
	b, err := xml.Marshal(h)
	if err != nil {
		return err
	}
	v := f.v11
	f.v11 = false
	err = f.Send(append([]byte(xml.Header), b...))
	f.v11 = v
	return err
}

// ReceiveHello reads the server's hello (end-of-message framed).
func (f *Framer) ReceiveHello() (*gonetconf.HelloMessage, error) {
	b, err := f.readEOM()
	if err != nil {
		return nil, fmt.Errorf("netconf hello: %w", err)
	}
	h := new(gonetconf.HelloMessage)
	if err := xml.Unmarshal(b, h); err != nil {
		return nil, fmt.Errorf("netconf hello: %w", err)
	}
	if len(h.Capabilities) == 0 {
		return nil, errors.New("netconf hello: no capabilities")
	}
	return h, nil
}
