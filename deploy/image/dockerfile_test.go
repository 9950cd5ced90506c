package image

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with continuations joined.
type instruction struct {
	line int    // where it starts
	cmd  string // upper-case keyword
	args string
}

func parseDockerfile(path string) ([]instruction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []instruction
	var cur *instruction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur == nil && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur != nil && strings.HasPrefix(line, "#") {
			continue // comment lines inside a continuation are dropped by Docker too
		}
		cont := strings.HasSuffix(line, `\`)
		line = strings.TrimSpace(strings.TrimSuffix(line, `\`))
		if cur == nil {
			kw, rest, _ := strings.Cut(line, " ")
			cur = &instruction{line: n, cmd: strings.ToUpper(kw), args: strings.TrimSpace(rest)}
		} else {
			cur.args += " " + line
		}
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: continuation runs past the end", path, cur.line)
	}
	return out, nil
}

// finalStage returns the instructions from the last FROM on.
func finalStage(path string, ins []instruction) ([]instruction, error) {
	for i := len(ins) - 1; i >= 0; i-- {
		if ins[i].cmd == "FROM" {
			return ins[i:], nil
		}
	}
	return nil, fmt.Errorf("%s: no FROM", path)
}

// normalize renders what the image gets from an instruction: COPY keeps
// its flags (except --from) and destination but not its sources, which
// legitimately differ; exec-form arrays are compared as arrays.
func normalize(in instruction) (string, error) {
	switch in.cmd {
	case "FROM":
		image, _, _ := strings.Cut(in.args, " ") // drop "AS name"
		return "FROM " + image, nil
	case "COPY", "ADD":
		var flags, paths []string
		if strings.HasPrefix(in.args, "[") {
			return "", fmt.Errorf("line %d: exec-form %s not supported by this check", in.line, in.cmd)
		}
		for _, f := range strings.Fields(in.args) {
			switch {
			case strings.HasPrefix(f, "--from="):
			case strings.HasPrefix(f, "--"):
				flags = append(flags, f)
			default:
				paths = append(paths, f)
			}
		}
		if len(paths) < 2 {
			return "", fmt.Errorf("line %d: %s needs a source and a destination", in.line, in.cmd)
		}
		slices.Sort(flags)
		return strings.Join(append(append([]string{in.cmd}, flags...), "-> "+paths[len(paths)-1]), " "), nil
	case "ENTRYPOINT", "CMD", "VOLUME", "SHELL":
		if strings.HasPrefix(in.args, "[") {
			var arr []string
			if err := json.Unmarshal([]byte(in.args), &arr); err != nil {
				return "", fmt.Errorf("line %d: %s: %w", in.line, in.cmd, err)
			}
			b, _ := json.Marshal(arr)
			return in.cmd + " " + string(b), nil
		}
		return in.cmd + " (shell form) " + strings.Join(strings.Fields(in.args), " "), nil
	default:
		return in.cmd + " " + strings.Join(strings.Fields(in.args), " "), nil
	}
}

func normalizedFinalStage(t *testing.T, path string) []string {
	t.Helper()
	ins, err := parseDockerfile(path)
	if err != nil {
		t.Fatal(err)
	}
	stage, err := finalStage(path, ins)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range stage {
		s, err := normalize(in)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, s)
	}
	return out
}

// The image the tests build must be the image the Dockerfile ships: same
// base, USER, VOLUME, EXPOSE, ENTRYPOINT, CMD and COPY destinations and
// flags, in the same order.
func TestContainerfileMatchesDockerfile(t *testing.T) {
	want := normalizedFinalStage(t, "../../Dockerfile")
	got := normalizedFinalStage(t, "testdata/Containerfile")
	if !slices.Equal(got, want) {
		t.Errorf("testdata/Containerfile and the Dockerfile's final stage differ; edit both together\n"+
			"Dockerfile:\n  %s\nContainerfile:\n  %s", strings.Join(want, "\n  "), strings.Join(got, "\n  "))
	}
	// What the runtime tests below rely on, stated once more so that both
	// files cannot drift together into an image these tests do not cover.
	for _, must := range []string{
		"FROM scratch",
		"USER 65532:65532",
		`VOLUME ["/var/lib/orbd"]`,
		`ENTRYPOINT ["/usr/local/bin/orbd"]`,
	} {
		if !slices.Contains(want, must) {
			t.Errorf("Dockerfile final stage lacks %q", must)
		}
	}
}

// TestImage builds orbd with CGO_ENABLED=0 and -trimpath; the Dockerfile
// must too, or the static-binary check proves nothing about it.
func TestDockerfileBuildsStatically(t *testing.T) {
	ins, err := parseDockerfile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, in := range ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			found = true
			for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/orbd"} {
				if !strings.Contains(in.args, want) {
					t.Errorf("Dockerfile:%d: go build lacks %s", in.line, want)
				}
			}
		}
	}
	if !found {
		t.Fatal("Dockerfile has no RUN … go build")
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in   instruction
		want string
	}{
		{instruction{cmd: "FROM", args: "golang:1.26 AS build"}, "FROM golang:1.26"},
		{instruction{cmd: "COPY", args: "--from=build --chown=1:1 /out/x /x"}, "COPY --chown=1:1 -> /x"},
		{instruction{cmd: "COPY", args: "a b /dst/"}, "COPY -> /dst/"},
		{instruction{cmd: "CMD", args: `[ "run",  "-c" ]`}, `CMD ["run","-c"]`},
		{instruction{cmd: "CMD", args: "run  -c x"}, "CMD (shell form) run -c x"},
		{instruction{cmd: "USER", args: "65532:65532"}, "USER 65532:65532"},
	} {
		got, err := normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("normalize(%+v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []instruction{
		{cmd: "COPY", args: "/only-one"},
		{cmd: "ENTRYPOINT", args: `["unterminated"`},
	} {
		if got, err := normalize(bad); err == nil {
			t.Errorf("normalize(%+v) = %q, want an error", bad, got)
		}
	}
}

func TestParseDockerfileContinuations(t *testing.T) {
	p := t.TempDir() + "/Dockerfile"
	body := "# syntax=docker/dockerfile:1\nFROM a AS b\nRUN x \\\n  # note\n  && y\n\nFROM scratch\nUSER 1\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ins, err := parseDockerfile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []instruction{{2, "FROM", "a AS b"}, {3, "RUN", "x && y"}, {7, "FROM", "scratch"}, {8, "USER", "1"}}
	if !slices.Equal(ins, want) {
		t.Fatalf("got %+v\nwant %+v", ins, want)
	}
	stage, _ := finalStage(p, ins)
	if len(stage) != 2 || stage[0].line != 7 {
		t.Fatalf("final stage %+v", stage)
	}
}
