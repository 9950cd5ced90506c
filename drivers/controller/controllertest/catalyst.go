package controllertest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// Catalyst is a Catalyst Center (DNA Center) Intent API server.
type Catalyst struct {
	recorder
	Username, Password string

	devices    []json.RawMessage
	deviceIDs  []string
	interfaces []json.RawMessage
	ifDevice   []string
	sites      []json.RawMessage
	siteIDs    []string
	siteParent map[string]string
	members    map[string][]string

	tmu    sync.Mutex
	tokens map[string]bool
	// NoBulkInterfaces makes GET /dna/intent/api/v1/interface answer 404,
	// like releases without the bulk list.
	noBulk bool
}

// NewCatalyst starts a Catalyst Center server with the embedded fixture.
func NewCatalyst(opts Options) (*Catalyst, error) {
	c := &Catalyst{Username: "orbd", Password: "C4talyst!" + newToken()[:8], tokens: map[string]bool{}, siteParent: map[string]string{}}
	if err := c.load(opts.SiteHierarchy, opts.Replicas); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /dna/system/api/v1/auth/token", c.token)
	mux.Handle("GET /dna/intent/api/v1/network-device", c.auth(c.paged(func() []json.RawMessage { return c.devices })))
	mux.Handle("GET /dna/intent/api/v1/interface", c.auth(http.HandlerFunc(c.bulkInterfaces)))
	mux.Handle("GET /dna/intent/api/v1/interface/network-device/{id}", c.auth(http.HandlerFunc(c.deviceInterfaces)))
	mux.Handle("GET /dna/intent/api/v1/site", c.auth(c.paged(func() []json.RawMessage { return c.sites })))
	mux.Handle("GET /dna/intent/api/v1/membership/{id}", c.auth(http.HandlerFunc(c.membership)))
	c.start(mux, opts, 500)
	return c, nil
}

// DisableBulkInterfaces makes the bulk interface list answer 404.
func (c *Catalyst) DisableBulkInterfaces() {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	c.noBulk = true
}

// ExpireTokens invalidates every issued token, as after an hour.
func (c *Catalyst) ExpireTokens() {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	c.tokens = map[string]bool{}
}

func (c *Catalyst) load(withHierarchy bool, replicas int) error {
	var devs, ifs struct {
		Response []json.RawMessage `json:"response"`
	}
	var sites struct {
		Response []json.RawMessage `json:"response"`
	}
	for name, v := range map[string]any{"catalyst/network-device.json": &devs, "catalyst/interface.json": &ifs, "catalyst/site.json": &sites, "catalyst/membership.json": &c.members} {
		b, err := Fixture(name)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("controllertest: %s: %w", name, err)
		}
	}
	c.devices, c.interfaces, c.sites = devs.Response, ifs.Response, sites.Response
	if err := c.replicate(replicas); err != nil {
		return err
	}
	for _, d := range c.devices {
		var x struct{ ID string }
		_ = json.Unmarshal(d, &x)
		c.deviceIDs = append(c.deviceIDs, x.ID)
	}
	for _, it := range c.interfaces {
		var x struct{ DeviceID string }
		_ = json.Unmarshal(it, &x)
		c.ifDevice = append(c.ifDevice, x.DeviceID)
	}
	hier := map[string]string{}
	for _, s := range c.sites {
		var x struct{ ID, ParentID, SiteNameHierarchy string }
		_ = json.Unmarshal(s, &x)
		c.siteIDs = append(c.siteIDs, x.ID)
		c.siteParent[x.ID] = x.ParentID
		hier[x.ID] = x.SiteNameHierarchy
	}
	if withHierarchy {
		for sid, ids := range c.members {
			for _, id := range ids {
				for i, did := range c.deviceIDs {
					if did != id {
						continue
					}
					var rec map[string]any
					if err := json.Unmarshal(c.devices[i], &rec); err != nil {
						return err
					}
					rec["siteNameHierarchy"] = hier[sid]
					b, err := json.Marshal(rec)
					if err != nil {
						return err
					}
					c.devices[i] = b
				}
			}
		}
	}
	return nil
}

func (c *Catalyst) token(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(c.Username)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(c.Password)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Authentication has failed. Please provide valid credentials."})
		return
	}
	t := newToken()
	c.tmu.Lock()
	c.tokens[t] = true
	c.tmu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"Token": t})
}

func (c *Catalyst) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.tmu.Lock()
		ok := c.tokens[r.Header.Get("X-Auth-Token")]
		c.tmu.Unlock()
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"response": map[string]string{"errorCode": "Unauthorized", "message": "Token is invalid or expired"}})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// page applies Catalyst paging: offset is 1-based, limit ≤ MaxLimit.
func (c *Catalyst) page(w http.ResponseWriter, r *http.Request, items []json.RawMessage) {
	offset, ok1 := intParam(r, "offset", 1)
	limit, ok2 := intParam(r, "limit", c.maxLimit)
	if !ok1 || !ok2 || offset < 1 || limit < 1 || limit > c.maxLimit {
		writeJSON(w, http.StatusBadRequest, map[string]any{"response": map[string]string{"errorCode": "BadRequest", "message": fmt.Sprintf("offset must be >= 1 and limit between 1 and %d", c.maxLimit)}, "version": "1.0"})
		return
	}
	from := min(offset-1, len(items))
	to := min(from+limit, len(items))
	writeJSON(w, http.StatusOK, map[string]any{"response": nonNil(items[from:to]), "version": "1.0"})
}

func (c *Catalyst) paged(items func() []json.RawMessage) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.page(w, r, items()) })
}

func (c *Catalyst) bulkInterfaces(w http.ResponseWriter, r *http.Request) {
	c.tmu.Lock()
	no := c.noBulk
	c.tmu.Unlock()
	if no {
		http.NotFound(w, r)
		return
	}
	c.page(w, r, c.interfaces)
}

func (c *Catalyst) deviceInterfaces(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var out []json.RawMessage
	for i, d := range c.ifDevice {
		if d == id {
			out = append(out, c.interfaces[i])
		}
	}
	if len(out) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"response": map[string]string{"errorCode": "NotFound", "message": "No resource found with deviceId: " + id}, "version": "1.0"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"response": out, "version": "1.0"})
}

// membership answers a site's child sites and the devices assigned
// directly to it, as full device records.
func (c *Catalyst) membership(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	known := false
	var children []json.RawMessage
	for i, sid := range c.siteIDs {
		if sid == id {
			known = true
		}
		if c.siteParent[sid] == id {
			children = append(children, c.sites[i])
		}
	}
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]any{"response": map[string]string{"errorCode": "NotFound", "message": "Site not found: " + id}})
		return
	}
	var devs []json.RawMessage
	for _, did := range c.members[id] {
		for i, x := range c.deviceIDs {
			if x == did {
				devs = append(devs, c.devices[i])
			}
		}
	}
	groups := []any{}
	if len(devs) > 0 {
		groups = append(groups, map[string]any{"response": devs, "version": "1.0", "siteId": id})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"site":   map[string]any{"response": nonNil(children), "version": "1.0"},
		"device": groups,
	})
}

func nonNil(s []json.RawMessage) []json.RawMessage {
	if s == nil {
		return []json.RawMessage{}
	}
	return s
}

// replicate adds copies r1-…, keeping each copy in its original's site.
func (c *Catalyst) replicate(n int) error {
	baseDevs, baseIfs := c.devices, c.interfaces
	for r := 1; r < n; r++ {
		suffix := fmt.Sprintf("-r%d", r)
		for _, raw := range baseDevs {
			rec, err := edit(raw, func(m map[string]any) {
				id, _ := m["id"].(string)
				m["id"], m["instanceUuid"] = id+suffix, id+suffix
				m["hostname"] = fmt.Sprintf("r%d-%v", r, m["hostname"])
				for sid, ids := range c.members {
					for _, x := range ids {
						if x == id {
							c.members[sid] = append(c.members[sid], id+suffix)
						}
					}
				}
			})
			if err != nil {
				return err
			}
			c.devices = append(c.devices, rec)
		}
		for _, raw := range baseIfs {
			rec, err := edit(raw, func(m map[string]any) {
				m["id"] = fmt.Sprintf("%v%s", m["id"], suffix)
				m["deviceId"] = fmt.Sprintf("%v%s", m["deviceId"], suffix)
			})
			if err != nil {
				return err
			}
			c.interfaces = append(c.interfaces, rec)
		}
	}
	return nil
}

func edit(raw json.RawMessage, f func(map[string]any)) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	f(m)
	return json.Marshal(m)
}
