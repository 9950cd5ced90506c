package controllertest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// The servers behave like the APIs where clients can go wrong: paging
// limits, default filters, credentials.
func TestCatalystServer(t *testing.T) {
	c, err := NewCatalyst(Options{MaxLimit: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodPost, c.URL()+"/dna/system/api/v1/auth/token", nil)
	req.SetBasicAuth(c.Username, c.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.Token == "" {
		t.Fatal("no token")
	}
	auth := map[string]string{"X-Auth-Token": tok.Token}
	for _, tc := range []struct {
		name  string
		path  string
		hdr   map[string]string
		code  int
		count int
	}{
		{"no token", "/dna/intent/api/v1/network-device", nil, 401, -1},
		{"first page", "/dna/intent/api/v1/network-device?offset=1&limit=4", auth, 200, 4},
		{"last page", "/dna/intent/api/v1/network-device?offset=5&limit=4", auth, 200, 3},
		{"past the end", "/dna/intent/api/v1/network-device?offset=9&limit=4", auth, 200, 0},
		{"limit above max", "/dna/intent/api/v1/network-device?offset=1&limit=5", auth, 400, -1},
		{"zero offset", "/dna/intent/api/v1/network-device?offset=0&limit=4", auth, 400, -1},
		{"unknown site", "/dna/intent/api/v1/membership/nope", auth, 404, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, c.URL()+tc.path, tc.hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if tc.count >= 0 {
				var page struct{ Response []json.RawMessage }
				if err := json.Unmarshal(body, &page); err != nil {
					t.Fatal(err)
				}
				if len(page.Response) != tc.count {
					t.Errorf("%d items, want %d", len(page.Response), tc.count)
				}
			}
		})
	}
}

func TestMistServer(t *testing.T) {
	m, err := NewMist(Options{MaxLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	auth := map[string]string{"Authorization": "Token " + m.Token}
	inv := "/api/v1/orgs/" + m.OrgID + "/inventory"
	for _, tc := range []struct {
		name       string
		path       string
		hdr        map[string]string
		code       int
		count      int
		pageLimit  string
		totalItems string
	}{
		{"no token", inv, nil, 401, -1, "", ""},
		{"other org", "/api/v1/orgs/x/inventory", auth, 403, -1, "", ""},
		{"type defaults to ap", inv + "?limit=10", auth, 200, 2, "2", "3"},
		{"switches", inv + "?type=switch", auth, 200, 2, "2", "2"},
		{"page 2 of aps", inv + "?page=2&limit=2", auth, 200, 1, "2", "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, m.URL()+tc.path, tc.hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if tc.count < 0 {
				return
			}
			var items []map[string]any
			if err := json.Unmarshal(body, &items); err != nil {
				t.Fatal(err)
			}
			if len(items) != tc.count {
				t.Errorf("%d items, want %d", len(items), tc.count)
			}
			if resp.Header.Get("X-Page-Limit") != tc.pageLimit || resp.Header.Get("X-Page-Total") != tc.totalItems {
				t.Errorf("X-Page-Limit %q X-Page-Total %q, want %q %q", resp.Header.Get("X-Page-Limit"), resp.Header.Get("X-Page-Total"), tc.pageLimit, tc.totalItems)
			}
		})
	}
	// Faults are served first, in order, and logged.
	m.Fail(1, http.StatusTooManyRequests, "7")
	resp, _ := get(t, m.URL()+inv, auth)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("fault: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if rs := m.Requests(); rs[len(rs)-1].Status != 429 || !strings.HasSuffix(rs[len(rs)-1].Path, "/inventory") {
		t.Errorf("last logged request %+v", rs[len(rs)-1])
	}
}

func TestReplicas(t *testing.T) {
	c, err := NewCatalyst(Options{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.devices) != 21 || len(c.interfaces) != 90 {
		t.Errorf("%d devices, %d interfaces; want 21, 90", len(c.devices), len(c.interfaces))
	}
	n := 0
	for _, ids := range c.members {
		n += len(ids)
	}
	if n != 21 {
		t.Errorf("%d memberships, want 21", n)
	}
}
