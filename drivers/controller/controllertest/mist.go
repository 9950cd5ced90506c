package controllertest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Mist is a Juniper Mist cloud API server for one org.
type Mist struct {
	recorder
	Token string
	OrgID string

	sites     []json.RawMessage
	siteIDs   []string
	inventory []json.RawMessage
	invType   []string
	stats     []json.RawMessage
	statSite  []string
	statType  []string
}

// NewMist starts a Mist API server with the embedded fixture.
func NewMist(opts Options) (*Mist, error) {
	m := &Mist{Token: "mist-" + newToken()}
	if err := m.load(opts.Replicas); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/orgs/{org}/sites", m.auth(http.HandlerFunc(m.listSites)))
	mux.Handle("GET /api/v1/orgs/{org}/inventory", m.auth(http.HandlerFunc(m.listInventory)))
	mux.Handle("GET /api/v1/sites/{site}/stats/devices", m.auth(http.HandlerFunc(m.siteStats)))
	m.start(mux, opts, 1000)
	return m, nil
}

func (m *Mist) load(replicas int) error {
	var org struct {
		OrgID string `json:"org_id"`
	}
	for name, v := range map[string]any{"mist/org.json": &org, "mist/sites.json": &m.sites, "mist/inventory.json": &m.inventory, "mist/stats-devices.json": &m.stats} {
		b, err := Fixture(name)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("controllertest: %s: %w", name, err)
		}
	}
	m.OrgID = org.OrgID
	baseInv, baseStats := m.inventory, m.stats
	for r := 1; r < replicas; r++ {
		ren := func(x map[string]any) {
			mac, _ := x["mac"].(string)
			if len(mac) == 12 {
				x["mac"] = fmt.Sprintf("%04x", r) + mac[4:]
			}
			if name, _ := x["name"].(string); name != "" {
				x["name"] = fmt.Sprintf("r%d-%s", r, name)
			}
			x["id"] = fmt.Sprintf("%v-r%d", x["id"], r)
		}
		for _, raw := range baseInv {
			rec, err := edit(raw, ren)
			if err != nil {
				return err
			}
			m.inventory = append(m.inventory, rec)
		}
		for _, raw := range baseStats {
			rec, err := edit(raw, ren)
			if err != nil {
				return err
			}
			m.stats = append(m.stats, rec)
		}
	}
	for _, s := range m.sites {
		var x struct{ ID string }
		_ = json.Unmarshal(s, &x)
		m.siteIDs = append(m.siteIDs, x.ID)
	}
	for _, it := range m.inventory {
		var x struct{ Type string }
		_ = json.Unmarshal(it, &x)
		m.invType = append(m.invType, x.Type)
	}
	for _, st := range m.stats {
		var x struct {
			SiteID string `json:"site_id"`
			Type   string `json:"type"`
		}
		_ = json.Unmarshal(st, &x)
		m.statSite = append(m.statSite, x.SiteID)
		m.statType = append(m.statType, x.Type)
	}
	return nil
}

func (m *Mist) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(m.Token)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Authentication credentials were not provided."})
			return
		}
		if org := r.PathValue("org"); org != "" && org != m.OrgID {
			writeJSON(w, http.StatusForbidden, map[string]string{"detail": "You do not have permission to perform this action."})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// page applies Mist paging: limit (default 100, capped at MaxLimit) and
// 1-based page, described by the X-Page-* headers.
func (m *Mist) page(w http.ResponseWriter, r *http.Request, items []json.RawMessage) {
	limit, ok1 := intParam(r, "limit", 100)
	page, ok2 := intParam(r, "page", 1)
	if !ok1 || !ok2 || limit < 1 || page < 1 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "invalid limit or page"})
		return
	}
	limit = min(limit, m.maxLimit)
	from := min((page-1)*limit, len(items))
	to := min(from+limit, len(items))
	w.Header().Set("X-Page-Limit", strconv.Itoa(limit))
	w.Header().Set("X-Page-Page", strconv.Itoa(page))
	w.Header().Set("X-Page-Total", strconv.Itoa(len(items)))
	writeJSON(w, http.StatusOK, nonNil(items[from:to]))
}

func (m *Mist) listSites(w http.ResponseWriter, r *http.Request) { m.page(w, r, m.sites) }

// listInventory filters by type, "ap" when absent, like the API.
func (m *Mist) listInventory(w http.ResponseWriter, r *http.Request) {
	typ := r.URL.Query().Get("type")
	if typ == "" {
		typ = "ap"
	}
	var out []json.RawMessage
	for i, it := range m.inventory {
		if m.invType[i] == typ {
			out = append(out, it)
		}
	}
	m.page(w, r, out)
}

func (m *Mist) siteStats(w http.ResponseWriter, r *http.Request) {
	site := r.PathValue("site")
	known := false
	for _, id := range m.siteIDs {
		known = known || id == site
	}
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "site not found"})
		return
	}
	typ := r.URL.Query().Get("type")
	if typ == "" {
		typ = "ap"
	}
	var out []json.RawMessage
	for i, st := range m.stats {
		if m.statSite[i] == site && (typ == "all" || m.statType[i] == typ) {
			out = append(out, st)
		}
	}
	m.page(w, r, out)
}
