package snmp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/orbd/orbd/drivers/snmp/snmptest"
)

// A table whose rows do not fit one message: v2c GETBULK answers arrive
// truncated mid-row, v1 GETNEXT answers come back tooBig until one column
// per request fits. Every value still lands in its column, once.
func TestWalkColumnsSmallMessages(t *testing.T) {
	var b strings.Builder
	for col := 1; col <= 3; col++ {
		for row := 1; row <= 5; row++ {
			fmt.Fprintf(&b, "1.3.6.1.4.1.99999.1.%d.%d|4|%s\n", col, row, strings.Repeat(fmt.Sprint(col), 100))
		}
	}
	b.WriteString("1.3.6.1.4.1.99999.2.0|2|7\n")
	rec, err := snmptest.ParseSnmprec(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	roots := []string{".1.3.6.1.4.1.99999.1.1", ".1.3.6.1.4.1.99999.1.2", ".1.3.6.1.4.1.99999.1.3"}
	for _, v := range []gosnmp.SnmpVersion{gosnmp.Version1, gosnmp.Version2c} {
		t.Run(v.String(), func(t *testing.T) {
			s := serve(t, "127.0.0.1:0", rec, snmptest.WithMaxResponse(300))
			g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(s.Port()), Community: "public", Version: v, Timeout: time.Second}
			if err := g.Connect(); err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			got := map[string]int{}
			err := walkColumns(g, roots, 10, func(vb varbind) error {
				key := fmt.Sprintf("%d.%s", vb.col+1, vb.index)
				got[key]++
				if want := strings.Repeat(fmt.Sprint(vb.col+1), 100); string(vb.pdu.Value.([]byte)) != want {
					t.Errorf("%s: value of another column", key)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 15 {
				t.Errorf("got %d values, want 15: %v", len(got), got)
			}
			for k, n := range got {
				if n != 1 {
					t.Errorf("%s seen %d times", k, n)
				}
			}
			t.Logf("%s: %d requests", v, s.Requests())
		})
	}
}
