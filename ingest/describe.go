package ingest

import (
	"strconv"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// describe names an entity for errors and logs: its kind ("interface")
// and the field an operator would recognise it by (name, address, …).
func describe(e *diodepb.Entity) (kind, name string) {
	if e == nil {
		return "entity", "<nil>"
	}
	m := e.ProtoReflect()
	od := m.Descriptor().Oneofs().ByName("entity")
	if od == nil {
		return "entity", "?"
	}
	fd := m.WhichOneof(od)
	if fd == nil {
		return "entity", "<empty>"
	}
	kind = string(fd.Name())
	obj := m.Get(fd).Message()
	for _, f := range []protoreflect.Name{"name", "address", "prefix", "mac_address", "model", "vid"} {
		d := obj.Descriptor().Fields().ByName(f)
		if d == nil || !obj.Has(d) {
			continue
		}
		switch d.Kind() {
		case protoreflect.StringKind:
			name = obj.Get(d).String()
		case protoreflect.Int64Kind, protoreflect.Int32Kind:
			name = strconv.FormatInt(obj.Get(d).Int(), 10)
		default:
			continue
		}
		// Interfaces and the like are only unique within their device.
		if dev := obj.Descriptor().Fields().ByName("device"); dev != nil && obj.Has(dev) {
			if dn := obj.Get(dev).Message().Interface().(*diodepb.Device).GetName(); dn != "" {
				name = dn + " " + name
			}
		}
		return kind, name
	}
	return kind, "?"
}
