package diodetest

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var sampleNS = uuid.MustParse("6f1c1b4e-8d7a-4a51-9b0e-6d1f0f5c2a10")

// SampleRequest builds a valid, deterministic request number seq with n
// entities shaped like orbd's output (devices, interfaces, IP addresses
// with small nested stubs), for tests and benchmarks.
func SampleRequest(seq, n int) *diodepb.IngestRequest {
	ts := timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r := &diodepb.IngestRequest{
		Stream: "latest", Id: uuid.NewSHA1(sampleNS, fmt.Appendf(nil, "req-%d", seq)).String(),
		ProducerAppName: "orbd", ProducerAppVersion: "0.1.0", SdkName: "orbd", SdkVersion: "0.1.0",
	}
	site := &diodepb.Site{Name: "lab"}
	for i := 0; i < n; i++ {
		dev := &diodepb.Device{
			Name:       ptr(fmt.Sprintf("r%d-sw%d", seq, i/3)),
			Site:       site,
			DeviceType: &diodepb.DeviceType{Model: "C9300-48P", Manufacturer: &diodepb.Manufacturer{Name: "Cisco"}},
			Role:       &diodepb.DeviceRole{Name: "switch"},
			Status:     ptr("active"),
			Serial:     ptr(fmt.Sprintf("FOC%08d", seq*1000+i)),
		}
		var e *diodepb.Entity
		switch i % 3 {
		case 0:
			e = &diodepb.Entity{Entity: &diodepb.Entity_Device{Device: dev}}
		case 1:
			e = &diodepb.Entity{Entity: &diodepb.Entity_Interface{Interface: &diodepb.Interface{
				Name: fmt.Sprintf("GigabitEthernet1/0/%d", i%48+1), Device: stub(dev), Type: "1000base-t",
				Speed: ptr(int64(1000000)), Enabled: ptr(true), Mtu: ptr(int64(1500)),
				PrimaryMacAddress: &diodepb.MACAddress{MacAddress: fmt.Sprintf("00:1b:54:%02x:%02x:%02x", seq%256, i/256%256, i%256)},
			}}}
		default:
			e = &diodepb.Entity{Entity: &diodepb.Entity_IpAddress{IpAddress: &diodepb.IPAddress{
				Address: fmt.Sprintf("10.%d.%d.%d/24", seq%256, i/256%256, i%256), Status: ptr("active"),
				AssignedObject: &diodepb.IPAddress_AssignedObjectInterface{AssignedObjectInterface: &diodepb.Interface{
					Name: fmt.Sprintf("Vlan%d", i%4094+1), Device: stub(dev), Type: "virtual"}},
			}}}
		}
		e.Timestamp = ts
		r.Entities = append(r.Entities, e)
	}
	return r
}

func stub(d *diodepb.Device) *diodepb.Device {
	return &diodepb.Device{Name: d.Name, Site: d.Site, DeviceType: d.DeviceType, Role: d.Role}
}

func ptr[T any](v T) *T { return &v }
