//go:build tools

// Package tools pins modules that packages of this repo import, so that
// parallel work never needs to edit go.mod. Not compiled into anything.
package tools

import (
	_ "github.com/Juniper/go-netconf/netconf"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/gliderlabs/ssh"
	_ "github.com/goccy/go-yaml"
	_ "github.com/google/uuid"
	_ "github.com/gosnmp/gosnmp"
	_ "github.com/netboxlabs/diode-sdk-go/diode"
	_ "github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	_ "github.com/openconfig/gnmi/proto/gnmi"
	_ "github.com/openconfig/gnmic/pkg/api"
	_ "github.com/openconfig/gnmic/pkg/api/server"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/testutil"
	_ "github.com/robfig/cron/v3"
	_ "github.com/scrapli/scrapligo/driver/generic"
	_ "github.com/scrapli/scrapligo/driver/network"
	_ "github.com/scrapli/scrapligo/platform"
	_ "github.com/spf13/cobra"
	_ "github.com/vmware/govmomi"
	_ "github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/view"
	_ "go.etcd.io/bbolt"
	_ "go.uber.org/goleak"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/crypto/ssh/knownhosts"
	_ "golang.org/x/net/proxy"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "golang.org/x/sync/errgroup"
	_ "google.golang.org/grpc"
	_ "google.golang.org/grpc/reflection"
	_ "google.golang.org/protobuf/encoding/protojson"
)
