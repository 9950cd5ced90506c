package netconf

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFramerChunked(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"one chunk", "\n#5\nhello\n##\n", "hello", ""},
		{"three chunks", "\n#3\n<a>\n#4\nxyz<\n#3\n/a>\n##\n", "<a>xyz</a>", ""},
		{"chunk containing ]]>]]>", "\n#8\n]]>]]>ab\n##\n", "]]>]]>ab", ""},
		{"chunk containing LF#", "\n#6\n\n#1\nx\n\n##\n", "\n#1\nx\n", ""},
		{"zero size", "\n#0\n\n##\n", "", "bad chunk size"},
		{"leading zero", "\n#05\nhello\n##\n", "", "bad chunk size"},
		{"not a number", "\n#x\n", "", "bad chunk size"},
		{"missing LF", "#5\nhello\n##\n", "", "chunked framing"},
		{"truncated", "\n#10\nabc", "", "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFramer(strings.NewReader(tc.in), io.Discard, nil)
			f.SetVersion("v1.1")
			got, err := f.Receive()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestFramerRoundTrip(t *testing.T) {
	for _, v := range []string{"v1.0", "v1.1"} {
		var buf bytes.Buffer
		w := NewFramer(nil, &buf, nil)
		w.SetVersion(v)
		msgs := []string{"<rpc-reply>one</rpc-reply>", strings.Repeat("x", 200_000), "<ok/>"}
		for _, m := range msgs {
			if err := w.Send([]byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		r := NewFramer(&buf, io.Discard, nil)
		r.SetVersion(v)
		for _, m := range msgs {
			got, err := r.Receive()
			if err != nil || string(got) != m {
				t.Fatalf("%s: got %d bytes, %v; want %d bytes", v, len(got), err, len(m))
			}
		}
		if _, err := r.Receive(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%s: after the last message: %v, want unexpected EOF", v, err)
		}
	}
}

func TestFramerLimit(t *testing.T) {
	for _, v := range []string{"v1.0", "v1.1"} {
		var buf bytes.Buffer
		w := NewFramer(nil, &buf, nil)
		w.SetVersion(v)
		w.Send(bytes.Repeat([]byte("y"), 5000))
		r := NewFramer(&buf, io.Discard, nil)
		r.SetVersion(v)
		r.maxMsg = 1000
		if _, err := r.Receive(); err == nil || !strings.Contains(err.Error(), "larger than 1000") {
			t.Fatalf("%s: err = %v, want size limit", v, err)
		}
	}
}
