package vcenter

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Property paths per managed object type: only what the mapping reads, so a
// large estate costs bytes in proportion to what we use.
var propPaths = map[string][]string{
	"Datacenter":      {"name", "parent"},
	"Folder":          {"name", "parent"},
	"ComputeResource": {"name", "parent"}, // ClusterComputeResource inherits this spec
	"HostSystem": {
		"name", "parent",
		"hardware.systemInfo",
		"config.product",
		"config.network.pnic",
		"config.network.vnic",
		"runtime.connectionState",
	},
	"VirtualMachine": {
		"name", "parent",
		"config.template",
		"config.guestFullName",
		"config.uuid",
		"config.annotation",
		"config.hardware.numCPU",
		"config.hardware.memoryMB",
		"config.hardware.device",
		"runtime.powerState",
		"runtime.host",
		"guest.net",
	},
	// Networks name the port groups VM NICs are on. Datastores are not
	// read: the inventory has no place for them (a VirtualDisk is name and
	// size), and the disk's backing file already names its datastore.
	"Network": {"name"},
}

// objects is everything one retrieval returned, typed.
type objects struct {
	count       int
	datacenters []mo.Datacenter
	folders     []mo.Folder
	computes    []mo.ComputeResource // Self.Type tells clusters from standalone hosts
	hosts       []mo.HostSystem
	vms         []mo.VirtualMachine
	networks    []mo.Network
}

// retrieve reads every object of the kinds in propPaths in one property
// collector request (plus continuation pages): one container view over the
// root folder, or, with a datacenter filter, one view per selected
// datacenter, all in the same request.
func retrieve(ctx context.Context, c *vim25.Client, dcFilter []string) (*objects, error) {
	vm := view.NewManager(c)
	pc := property.DefaultCollector(c)
	out := &objects{}

	kinds := make([]string, 0, len(propPaths))
	for k := range propPaths {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)

	var roots []types.ManagedObjectReference
	if len(dcFilter) == 0 {
		roots = []types.ManagedObjectReference{c.ServiceContent.RootFolder}
	} else {
		dcs, err := retrieveDatacenters(ctx, vm, c)
		if err != nil {
			return nil, err
		}
		have := make([]string, 0, len(dcs))
		byName := map[string]mo.Datacenter{}
		for _, dc := range dcs {
			byName[dc.Name] = dc
			have = append(have, dc.Name)
		}
		sort.Strings(have)
		for _, name := range dcFilter {
			dc, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("datacenter %q not found (have: %s)", name, strings.Join(have, ", "))
			}
			roots = append(roots, dc.Self)
			out.datacenters = append(out.datacenters, dc)
		}
	}

	var ospecs []types.ObjectSpec
	for _, root := range roots {
		v, err := vm.CreateContainerView(ctx, root, kinds, true)
		if err != nil {
			return nil, fmt.Errorf("create container view on %s: %w", root, err)
		}
		defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()
		ospecs = append(ospecs, types.ObjectSpec{
			Obj:       v.Reference(),
			Skip:      types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}},
		})
	}
	pspecs := make([]types.PropertySpec, 0, len(kinds))
	for _, k := range kinds {
		pspecs = append(pspecs, types.PropertySpec{Type: k, PathSet: propPaths[k]})
	}
	res, err := pc.RetrieveProperties(ctx, types.RetrieveProperties{
		SpecSet: []types.PropertyFilterSpec{{ObjectSet: ospecs, PropSet: pspecs}},
	})
	if err != nil {
		return nil, fmt.Errorf("retrieve properties: %w", err)
	}
	out.count = len(res.Returnval)
	for _, oc := range res.Returnval {
		v, err := mo.ObjectContentToType(oc)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", oc.Obj, err)
		}
		switch o := v.(type) {
		case mo.Datacenter:
			out.datacenters = append(out.datacenters, o)
		case mo.Folder:
			out.folders = append(out.folders, o)
		case mo.ClusterComputeResource:
			out.computes = append(out.computes, o.ComputeResource)
		case mo.ComputeResource:
			out.computes = append(out.computes, o)
		case mo.HostSystem:
			out.hosts = append(out.hosts, o)
		case mo.VirtualMachine:
			out.vms = append(out.vms, o)
		case mo.Network:
			out.networks = append(out.networks, o)
		case mo.DistributedVirtualPortgroup:
			out.networks = append(out.networks, o.Network)
		case mo.OpaqueNetwork:
			out.networks = append(out.networks, o.Network)
		}
	}
	return out, nil
}

// retrieveDatacenters lists datacenters (name only) for the filter.
func retrieveDatacenters(ctx context.Context, vm *view.Manager, c *vim25.Client) ([]mo.Datacenter, error) {
	v, err := vm.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"Datacenter"}, true)
	if err != nil {
		return nil, fmt.Errorf("create datacenter view: %w", err)
	}
	defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()
	var dcs []mo.Datacenter
	if err := v.Retrieve(ctx, []string{"Datacenter"}, propPaths["Datacenter"], &dcs); err != nil {
		return nil, fmt.Errorf("list datacenters: %w", err)
	}
	return dcs, nil
}

// tree resolves parents to the datacenter that contains an object.
type tree struct {
	names   map[types.ManagedObjectReference]string
	parents map[types.ManagedObjectReference]types.ManagedObjectReference
}

func newTree(o *objects) *tree {
	t := &tree{
		names:   map[types.ManagedObjectReference]string{},
		parents: map[types.ManagedObjectReference]types.ManagedObjectReference{},
	}
	add := func(e mo.ManagedEntity) {
		t.names[e.Self] = e.Name
		if e.Parent != nil {
			t.parents[e.Self] = *e.Parent
		}
	}
	for _, x := range o.datacenters {
		add(x.ManagedEntity)
	}
	for _, x := range o.folders {
		add(x.ManagedEntity)
	}
	for _, x := range o.computes {
		add(x.ManagedEntity)
	}
	for _, x := range o.hosts {
		add(x.ManagedEntity)
	}
	for _, x := range o.networks {
		add(x.ManagedEntity)
	}
	return t
}

// datacenter walks up from ref; "" when no datacenter is above it.
func (t *tree) datacenter(ref types.ManagedObjectReference) string {
	for range 64 { // folders nest, but not without bound
		if ref.Type == "Datacenter" {
			return t.names[ref]
		}
		p, ok := t.parents[ref]
		if !ok {
			return ""
		}
		ref = p
	}
	return ""
}
