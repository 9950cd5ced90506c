package grpcsink

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orbd/orbd/ingest/diodetest"
	"github.com/orbd/orbd/policies"
	"google.golang.org/protobuf/proto"
)

// TestMain doubles as the helper process for the SIGKILL test: with
// ORBD_SINK_HELPER set, the test binary is a minimal agent that spools and
// delivers, and gets killed.
func TestMain(m *testing.M) {
	if mode := os.Getenv("ORBD_SINK_HELPER"); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

func helper(mode string) int {
	cfg := policies.DiodeConfig{
		Target: os.Getenv("ORBD_SINK_TARGET"), CAFile: os.Getenv("ORBD_SINK_CA"), SpoolDir: os.Getenv("ORBD_SINK_SPOOL"),
		ClientID: diodetest.DefaultClientID, ClientSecret: diodetest.DefaultClientSecret,
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	s, err := New(cfg, Options{Logger: log, Getenv: noEnv, BackoffBase: 10 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	s.Start(ctx)
	switch mode {
	case "send":
		n, _ := strconv.Atoi(os.Getenv("ORBD_SINK_N"))
		for i := 0; i < n; i++ {
			if err := s.Send(ctx, diodetest.SampleRequest(i, 20)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
			fmt.Printf("spooled %d\n", i) // only after Send returned: durable
		}
		select {} // keep delivering until killed
	case "drain":
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := s.Close(cctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if recs, _, _ := s.spool.Depth(); recs != 0 {
			fmt.Fprintf(os.Stderr, "%d requests left\n", recs)
			return 3
		}
		fmt.Println("drained")
		return 0
	}
	return 2
}

func TestSIGKILLMidDeliveryThenRestart(t *testing.T) {
	srv, ca := receiver(t)
	srv.SetDelay(20 * time.Millisecond) // slow enough that the kill lands mid-delivery
	spoolDir := t.TempDir()
	const n = 60
	env := append(os.Environ(), "ORBD_SINK_TARGET="+srv.URL(), "ORBD_SINK_CA="+ca, "ORBD_SINK_SPOOL="+spoolDir, "ORBD_SINK_N="+strconv.Itoa(n))

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(env, "ORBD_SINK_HELPER=send")
	childLog := &logBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("helper processes' logs:\n%s", childLog)
		}
	})
	cmd.Stderr = childLog
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	spooled := map[string]bool{}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if i, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "spooled ")); err == nil {
				mu.Lock()
				spooled[diodetest.SampleRequest(i, 20).Id] = true
				mu.Unlock()
			}
		}
	}()
	waitFor(t, "some deliveries", func() bool { return len(srv.Requests()) >= 5 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	<-readDone
	atKill := len(srv.Requests())
	mu.Lock()
	nSpooled := len(spooled)
	mu.Unlock()
	if atKill >= nSpooled {
		t.Fatalf("kill did not land mid-delivery (%d delivered of %d spooled); slow the receiver down", atKill, nSpooled)
	}
	t.Logf("killed with %d of %d spooled requests delivered", atKill, nSpooled)

	srv.SetDelay(0)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	restart := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	restart.Env = append(env, "ORBD_SINK_HELPER=drain")
	restart.Stderr = childLog
	if b, err := restart.Output(); err != nil || !strings.Contains(string(b), "drained") {
		t.Fatalf("restarted agent: %v %s", err, b)
	}

	got := map[string]int{}
	for _, r := range srv.Requests() {
		got[r.Id]++
		if want := diodetest.SampleRequest(indexOf(t, r.Id, n), 20); !proto.Equal(r, want) {
			t.Fatalf("request %s arrived altered", r.Id)
		}
	}
	for id := range spooled {
		if got[id] == 0 {
			t.Fatalf("request %s was spooled (Send returned nil) but never arrived", id)
		}
	}
	dups := 0
	for _, c := range got {
		dups += c - 1
	}
	t.Logf("%d distinct requests arrived, %d duplicates (at-least-once)", len(got), dups)
}

func indexOf(t *testing.T, id string, n int) int {
	for i := 0; i < n; i++ {
		if diodetest.SampleRequest(i, 0).Id == id {
			return i
		}
	}
	t.Fatalf("unknown request id %s", id)
	return -1
}
