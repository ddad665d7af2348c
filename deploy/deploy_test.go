package deploy

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/openroom/openroom/config"
)

// root is the repository root, where the deployment files live.
const root = ".."

// The runtime image carries the shared libraries of the Debian release the builder links
// against (FFmpeg 5.1 in bookworm: libavcodec.so.59, libavutil.so.57, libswresample.so.4).
const debianRelease = "bookworm"

var runtimeLibs = []string{"ca-certificates", "libavcodec59", "libavutil57", "libswresample4"}

var buildDeps = []string{"gcc", "pkg-config", "libavcodec-dev", "libavutil-dev", "libswresample-dev"}

const (
	binaryPath = "/usr/local/bin/openroom"
	configPath = "/etc/openroom/openroom.yaml"
)

// portSpec is a port or an inclusive port range with its protocol.
type portSpec struct {
	lo, hi int
	proto  string // "tcp" or "udp"
}

func (p portSpec) String() string {
	if p.lo == p.hi {
		return fmt.Sprintf("%d/%s", p.lo, p.proto)
	}
	return fmt.Sprintf("%d-%d/%s", p.lo, p.hi, p.proto)
}

func (p portSpec) covers(q portSpec) bool {
	return p.proto == q.proto && p.lo <= q.lo && q.hi <= p.hi
}

// listener is one default listener of the binary, named by its config key.
type listener struct {
	key  string
	port portSpec
}

// defaultListeners reads every listener port from config.Default(), so a changed default
// fails this test until the Dockerfile, the compose file and docs/deploy.md follow.
func defaultListeners(t *testing.T) []listener {
	t.Helper()
	return listenersOf(t, config.Default())
}

// listenersOf is what d listens on.
func listenersOf(t *testing.T, d config.Config) []listener {
	t.Helper()
	addrPort := func(key, addr string) int {
		t.Helper()
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("config.Default().%s = %q: %v", key, addr, err)
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("config.Default().%s = %q: port %q: %v", key, addr, p, err)
		}
		return n
	}
	one := func(n int, proto string) portSpec { return portSpec{n, n, proto} }
	relayLo, relayHi, err := config.ParsePortRange(d.TURNRelayPorts)
	if err != nil {
		t.Fatalf("config.Default().TURNRelayPorts = %q: %v", d.TURNRelayPorts, err)
	}
	return []listener{
		{"http", one(addrPort("HTTP", d.HTTP), "tcp")},
		{"rtc_port", one(d.RTCPort, "udp")},
		{"rtmp", one(addrPort("RTMP", d.RTMP), "tcp")},
		{"turn (udp)", one(addrPort("TURN", d.TURN), "udp")},
		{"turn (tcp)", one(addrPort("TURN", d.TURN), "tcp")},
		{"turn_tls", one(addrPort("TURNTLS", d.TURNTLS), "tcp")},
		{"turn_relay_ports", portSpec{relayLo, relayHi, "udp"}},
	}
}

// parseRange parses "N" or "N-M".
func parseRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = strconv.Atoi(a); err != nil {
		return 0, 0, fmt.Errorf("port %q: %v", s, err)
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(b); err != nil {
			return 0, 0, fmt.Errorf("port %q: %v", s, err)
		}
	}
	if lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("port %q out of order or range", s)
	}
	return lo, hi, nil
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ---- Dockerfile -----------------------------------------------------------------------

type instruction struct {
	cmd  string // upper case
	args string
	line int
}

type stage struct {
	image, name string
	instrs      []instruction
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// parseDockerfile splits a Dockerfile into stages of instructions: comment lines are
// dropped (also inside continued lines, as Docker does), a trailing backslash continues
// the instruction on the next line.
func parseDockerfile(text string) ([]stage, error) {
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() error {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(w string) bool { return strings.HasPrefix(w, "--") })
			st := stage{}
			if len(f) > 0 {
				st.image = f[0]
			}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return nil
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" {
				return nil
			}
			return fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
		return nil
	}
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: instruction continues past the end of the file", start)
	}
	return stages, nil
}

// aptInstalls lists the packages named after `apt-get install` (or `apt install`) in
// RUN instructions.
func aptInstalls(s stage) []string {
	var pkgs []string
	for _, in := range s.all("RUN") {
		for _, cmd := range regexp.MustCompile(`&&|\|\||;|\|`).Split(in.args, -1) {
			f := strings.Fields(cmd)
			i := slices.Index(f, "install")
			if i < 1 || !slices.ContainsFunc(f[:i], func(w string) bool { return w == "apt-get" || w == "apt" }) {
				continue
			}
			for _, w := range f[i+1:] {
				if !strings.HasPrefix(w, "-") {
					pkgs = append(pkgs, w)
				}
			}
		}
	}
	return pkgs
}

// parseExpose parses "8080/tcp 7882/udp 50000-50100/udp 80" (tcp when no protocol).
func parseExpose(args string) ([]portSpec, error) {
	var out []portSpec
	for _, w := range strings.Fields(args) {
		ports, proto, ok := strings.Cut(w, "/")
		if !ok {
			proto = "tcp"
		}
		lo, hi, err := parseRange(ports)
		if err != nil {
			return nil, err
		}
		out = append(out, portSpec{lo, hi, strings.ToLower(proto)})
	}
	return out, nil
}

func goMinor(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod: no go directive")
	}
	return m[1]
}

func TestDockerfile(t *testing.T) {
	stages, err := parseDockerfile(readFile(t, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(stages), 2; got != want {
		t.Fatalf("stages: got %v; want %v", got, want)
	}
	build, run := stages[0], stages[1]

	goBuild := ""
	for _, in := range build.all("RUN") {
		if strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	var copyFrom []string
	for _, in := range run.all("COPY") {
		if f := strings.Fields(in.args); len(f) == 3 && strings.HasPrefix(f[0], "--from=") {
			copyFrom = f
		}
	}
	var user string
	if us := run.all("USER"); len(us) > 0 {
		user, _, _ = strings.Cut(us[len(us)-1].args, ":")
	}
	var entrypoint []string
	if es := run.all("ENTRYPOINT"); len(es) > 0 {
		if err := json.Unmarshal([]byte(es[len(es)-1].args), &entrypoint); err != nil {
			t.Errorf("ENTRYPOINT %s: want the JSON exec form: %v", es[len(es)-1].args, err)
		}
	}
	buildPkgs, runPkgs := aptInstalls(build), aptInstalls(run)

	tests := []struct {
		name      string
		got, want any
	}{
		// The builder's Go is the one go.mod asks for, on the runtime's Debian release.
		{"builder image", build.image, "golang:" + goMinor(t) + "-" + debianRelease},
		{"builder stage named", build.name != "", true},
		{"runtime image", run.image, "debian:" + debianRelease + "-slim"},
		{"go build -trimpath", strings.Contains(goBuild, "-trimpath"), true},
		{"go build -ldflags -s -w", strings.Contains(goBuild, `-ldflags "-s -w"`), true},
		{"go build package", strings.HasSuffix(strings.TrimSpace(goBuild), "./cmd/openroom"), true},
		{"go build output", strings.Contains(goBuild, "-o /out/openroom"), true},
		{"copy from the builder", copyFrom, []string{"--from=" + build.name, "/out/openroom", binaryPath}},
		{"runtime user set", user != "", true},
		{"runtime user is not root", user != "root" && user != "0", true},
		{"entrypoint", entrypoint, []string{binaryPath}},
		// --config with a missing file is an error, so the image must not pass one by default.
		{"no CMD", len(run.all("CMD")), 0},
	}
	for _, pkg := range buildDeps {
		tests = append(tests, struct {
			name      string
			got, want any
		}{"builder installs " + pkg, slices.Contains(buildPkgs, pkg), true})
	}
	for _, pkg := range runtimeLibs {
		tests = append(tests, struct {
			name      string
			got, want any
		}{"runtime installs " + pkg, slices.Contains(runPkgs, pkg), true})
	}
	for _, pkg := range runPkgs {
		tests = append(tests, struct {
			name      string
			got, want any
		}{"runtime package " + pkg + " is a runtime library",
			!strings.HasSuffix(pkg, "-dev") && pkg != "ffmpeg" && pkg != "gcc" && pkg != "pkg-config", true})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v; want %v", tc.got, tc.want)
			}
		})
	}

	var exposed []portSpec
	for _, in := range run.all("EXPOSE") {
		ps, err := parseExpose(in.args)
		if err != nil {
			t.Fatalf("line %d: EXPOSE %s: %v", in.line, in.args, err)
		}
		exposed = append(exposed, ps...)
	}
	for _, l := range defaultListeners(t) {
		t.Run("EXPOSE "+l.key, func(t *testing.T) {
			got := slices.ContainsFunc(exposed, func(p portSpec) bool { return p.covers(l.port) })
			if !got {
				t.Errorf("%s exposed: got %v; want %v (EXPOSE has %v)", l.port, got, true, exposed)
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	const text = "# syntax=docker/dockerfile:1\nARG V=1\nFROM golang:1 AS b\nRUN a \\\n  # comment inside\n  && apt-get install -y x-dev y\nFROM --platform=linux/amd64 debian\nEXPOSE 80 53/udp 1000-1002/udp\n"
	stages, err := parseDockerfile(text)
	if err != nil {
		t.Fatal(err)
	}
	exposed, err := parseExpose(stages[1].all("EXPOSE")[0].args)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"stages", len(stages), 2},
		{"builder", stages[0].image + " " + stages[0].name, "golang:1 b"},
		{"runtime", stages[1].image + " " + stages[1].name, "debian "},
		{"continued RUN", stages[0].instrs[0].args, "a  && apt-get install -y x-dev y"},
		{"apt packages", aptInstalls(stages[0]), []string{"x-dev", "y"}},
		{"expose", exposed, []portSpec{{80, 80, "tcp"}, {53, 53, "udp"}, {1000, 1002, "udp"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v; want %v", tc.got, tc.want)
			}
		})
	}
}

// ---- docker-compose.yml ---------------------------------------------------------------

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Build struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Profiles        []string           `yaml:"profiles"`
	Image           string             `yaml:"image"`
	DependsOn       []string           `yaml:"depends_on"`
	Restart         string             `yaml:"restart"`
	StopGracePeriod string             `yaml:"stop_grace_period"`
	NetworkMode     string             `yaml:"network_mode"`
	Ports           []string           `yaml:"ports"`
	Environment     map[string]*string `yaml:"environment"`
	Volumes         []string           `yaml:"volumes"`
	Command         []string           `yaml:"command"`
	Ulimits         struct {
		Nofile struct {
			Soft int `yaml:"soft"`
			Hard int `yaml:"hard"`
		} `yaml:"nofile"`
	} `yaml:"ulimits"`
}

// uncomment turns the commented-out block that starts with "# key" back into YAML: that
// line and the commented list items ("#   - ...") right below it.
func uncomment(t *testing.T, text, key string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	found := false
	for i := 0; i < len(lines); i++ {
		indent, rest, ok := strings.Cut(lines[i], "# "+key)
		if !ok || strings.TrimSpace(indent) != "" {
			continue
		}
		found = true
		lines[i] = indent + key + rest
		for j := i + 1; j < len(lines); j++ {
			ind, item, ok := strings.Cut(lines[j], "#   - ")
			if !ok || ind != indent {
				break
			}
			lines[j] = ind + "  - " + item
		}
		break
	}
	if !found {
		t.Fatalf("docker-compose.yml: no commented-out %q block", key)
	}
	return strings.Join(lines, "\n")
}

func dropLine(t *testing.T, text, line string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == line })
	if i < 0 {
		t.Fatalf("docker-compose.yml: no line %q", line)
	}
	return strings.Join(slices.Delete(lines, i, i+1), "\n")
}

// parsePublished parses the short port syntax [[IP:]HOST:]CONTAINER[/PROTO]; it refuses
// mappings whose host and container ports differ (ICE and TURN announce the port numbers).
func parsePublished(s string) (portSpec, error) {
	ports, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	parts := strings.Split(ports, ":")
	container := parts[len(parts)-1]
	host := container
	if len(parts) >= 2 {
		host = parts[len(parts)-2]
	}
	if host != container {
		return portSpec{}, fmt.Errorf("%q: host ports %s differ from container ports %s", s, host, container)
	}
	lo, hi, err := parseRange(container)
	if err != nil {
		return portSpec{}, err
	}
	return portSpec{lo, hi, strings.ToLower(proto)}, nil
}

// knownEnv returns the OPENROOM_* variables the binary reads: the names LoadEnv asks for.
func knownEnv() map[string]bool {
	known := map[string]bool{}
	c := config.Default()
	_ = c.LoadEnv(func(name string) (string, bool) { known[name] = true; return "", false })
	return known
}

// defaultServices counts the services `docker compose up` starts (those outside profiles).
func defaultServices(f composeFile) int {
	n := 0
	for _, s := range f.Services {
		if len(s.Profiles) == 0 {
			n++
		}
	}
	return n
}

func TestCompose(t *testing.T) {
	text := readFile(t, "docker-compose.yml")
	variants := []struct {
		name string
		text string
		host bool // host networking, else published ports
		conf bool // config file mounted and passed
	}{
		{"as shipped", text, true, false},
		{"ports alternative", uncomment(t, uncomment(t, dropLine(t, text, "network_mode: host"), "ports:"), "OPENROOM_TURN_RELAY_PORTS:"), false, false},
		{"config file", uncomment(t, uncomment(t, text, "volumes:"), "command:"), true, true},
	}
	known := knownEnv()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			var f composeFile
			dec := yaml.NewDecoder(strings.NewReader(v.text))
			dec.KnownFields(true) // a key this test does not know is a key it does not check
			if err := dec.Decode(&f); err != nil {
				t.Fatalf("docker-compose.yml: %v", err)
			}
			s, ok := f.Services["openroom"]
			if !ok {
				t.Fatalf("service openroom: got %v; want %v", ok, true)
			}
			grace, err := time.ParseDuration(s.StopGracePeriod)
			if err != nil {
				t.Errorf("stop_grace_period %q: %v", s.StopGracePeriod, err)
			}
			nodeIP := s.Environment["OPENROOM_NODE_IP"]
			_, secretListed := s.Environment["OPENROOM_SECRET"]
			_, statErr := os.Stat(filepath.Join(root, s.Build.Context, s.Build.Dockerfile))
			tests := []struct {
				name      string
				got, want any
			}{
				{"services started by default", defaultServices(f), 1},
				{"build context", s.Build.Context, "."},
				{"build dockerfile exists", statErr == nil, true},
				{"restart", s.Restart, "unless-stopped"},
				{"stop_grace_period at least 30s", grace >= 30*time.Second, true},
				{"nofile soft limit room for many members", s.Ulimits.Nofile.Soft >= 65536, true},
				{"nofile hard limit at least the soft one", s.Ulimits.Nofile.Hard >= s.Ulimits.Nofile.Soft, true},
				{"OPENROOM_NODE_IP from the environment", nodeIP != nil && strings.HasPrefix(*nodeIP, "${OPENROOM_NODE_IP"), true},
				{"OPENROOM_SECRET passed through", secretListed && s.Environment["OPENROOM_SECRET"] == nil, true},
				{"host networking", s.NetworkMode == "host", v.host},
				{"no ports with host networking", v.host && len(s.Ports) > 0, false},
			}
			if v.conf {
				tests = append(tests,
					struct {
						name      string
						got, want any
					}{"command", s.Command, []string{"--config", configPath}},
					struct {
						name      string
						got, want any
					}{"config and recordings volumes", s.Volumes, []string{"./openroom.yaml:" + configPath + ":ro", "./recordings:/var/lib/openroom/recordings"}})
			} else {
				tests = append(tests, struct {
					name      string
					got, want any
				}{"no command without a config file", len(s.Command), 0})
			}
			for name := range s.Environment {
				tests = append(tests, struct {
					name      string
					got, want any
				}{name + " is read by openroom", known[name], true})
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
						t.Errorf("got %v; want %v", tc.got, tc.want)
					}
				})
			}
			if v.host {
				return
			}
			var published []portSpec
			for _, p := range s.Ports {
				ps, err := parsePublished(p)
				if err != nil {
					t.Fatal(err)
				}
				published = append(published, ps)
			}
			// The ports alternative narrows the relay range in its environment.
			d := config.Default()
			if v := s.Environment["OPENROOM_TURN_RELAY_PORTS"]; v != nil {
				d.TURNRelayPorts = *v
			}
			for _, l := range listenersOf(t, d) {
				t.Run("publishes "+l.key, func(t *testing.T) {
					got := slices.ContainsFunc(published, func(p portSpec) bool { return p.covers(l.port) })
					if !got {
						t.Errorf("%s published: got %v; want %v (ports: %v)", l.port, got, true, published)
					}
				})
			}
		})
	}
}

// ---- .dockerignore ----------------------------------------------------------------------

// ignored approximates Docker's .dockerignore matching: a pattern matches a path or any of
// its parent directories; "**/" matches any number of leading directories; "!" re-includes.
func ignored(patterns []string, path string) bool {
	matchOne := func(pat, p string) bool {
		if rest, ok := strings.CutPrefix(pat, "**/"); ok {
			parts := strings.Split(p, "/")
			for i := range parts {
				if m, _ := filepath.Match(rest, strings.Join(parts[i:], "/")); m {
					return true
				}
			}
			return false
		}
		m, _ := filepath.Match(pat, p)
		return m
	}
	out := false
	for _, pat := range patterns {
		neg := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "/")
		parts := strings.Split(path, "/")
		for i := 1; i <= len(parts); i++ {
			if matchOne(pat, strings.Join(parts[:i], "/")) {
				out = !neg
				break
			}
		}
	}
	return out
}

func TestDockerignore(t *testing.T) {
	var patterns []string
	for _, l := range strings.Split(readFile(t, ".dockerignore"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	tests := []struct {
		path string
		want bool
	}{
		{".git/config", true},
		{"node_modules/playwright-core/package.json", true},
		{"bin/openroom", true},
		{"openroom", true},
		{"test-results/x.png", true},
		{"signaling/signaling.test", true},
		{".env", true},
		{"openroom.yaml", true},
		{"go.mod", false},
		{"cmd/openroom/main.go", false},
	}
	// Everything the build reads must stay in the context: Go files, go.mod/go.sum and the
	// embedded web files.
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" || rel == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".go") || rel == "go.mod" || rel == "go.sum" ||
			strings.HasPrefix(rel, "web/static/") || strings.HasPrefix(rel, "web/sdk/") {
			tests = append(tests, struct {
				path string
				want bool
			}{rel, false})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if got := ignored(patterns, tc.path); got != tc.want {
				t.Errorf("ignored: got %v; want %v", got, tc.want)
			}
		})
	}
}

// ---- docs/deploy.md -------------------------------------------------------------------

// TestDocs checks that docs/deploy.md names every default port and that its example
// config files (```yaml blocks whose first line is "# openroom.yaml") load and validate.
func TestDocs(t *testing.T) {
	doc := readFile(t, "docs/deploy.md")
	for _, l := range defaultListeners(t) {
		want := strconv.Itoa(l.port.lo)
		if l.port.hi != l.port.lo {
			want += "-" + strconv.Itoa(l.port.hi)
		}
		t.Run("names "+l.key, func(t *testing.T) {
			if got := strings.Contains(doc, want); !got {
				t.Errorf("docs/deploy.md mentions %s: got %v; want %v", want, got, true)
			}
		})
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(# openroom\\.yaml[^\n]*\n.*?)```").FindAllStringSubmatch(doc, -1)
	if len(blocks) == 0 {
		t.Fatal("docs/deploy.md: no ```yaml block starting with \"# openroom.yaml\"")
	}
	for i, b := range blocks {
		t.Run(fmt.Sprintf("example %d", i+1), func(t *testing.T) {
			c := config.Default()
			err := c.LoadYAML(strings.NewReader(b[1]), "docs/deploy.md example")
			if err == nil && c.Secret == "" && strings.Contains(b[1], "OPENROOM_SECRET") {
				// the example takes its secret from the environment, as the docs advise
				err = c.LoadEnv(func(k string) (string, bool) {
					return "0123456789abcdef0123456789abcdef", k == "OPENROOM_SECRET"
				})
			}
			if err == nil {
				err = c.Validate()
			}
			if err != nil {
				t.Errorf("got %v; want %v", err, nil)
			}
		})
	}
}

// TestComposeCluster: the cluster profile's Redis and two nodes on one host:
// pinned Redis 7, the same Redis URL and a required common secret on both
// nodes, distinct node IDs, and no port (or relay range) that both would bind.
func TestComposeCluster(t *testing.T) {
	var f composeFile
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, "docker-compose.yml")))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	redis, node1, node2 := f.Services["redis"], f.Services["node1"], f.Services["node2"]
	known := knownEnv()
	env := func(s composeService, name string) string {
		if v := s.Environment[name]; v != nil {
			return *v
		}
		return ""
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"redis in the cluster profile", fmt.Sprint(redis.Profiles), "[cluster]"},
		{"redis 7, pinned", regexp.MustCompile(`^redis:7\.[0-9]+\.[0-9]+-alpine$`).MatchString(redis.Image), true},
		{"redis on loopback", slices.Contains(redis.Command, "127.0.0.1"), true},
		{"node ids differ", env(node1, "OPENROOM_NODE_ID") != env(node2, "OPENROOM_NODE_ID"), true},
	}
	type bind struct {
		node, key string
		port      portSpec
	}
	var bound []bind
	for _, n := range []struct {
		name string
		s    composeService
	}{{"node1", node1}, {"node2", node2}} {
		s := n.s
		c := config.Default()
		lookup := func(name string) (string, bool) {
			v, ok := s.Environment[name]
			if !ok || v == nil || strings.HasPrefix(*v, "${") {
				return "", false
			}
			return *v, true
		}
		if err := c.LoadEnv(lookup); err != nil {
			t.Errorf("%s: environment: %v", n.name, err)
			continue
		}
		tests = append(tests, []struct {
			name      string
			got, want any
		}{
			{n.name + " in the cluster profile", fmt.Sprint(s.Profiles), "[cluster]"},
			{n.name + " starts after redis", fmt.Sprint(s.DependsOn), "[redis]"},
			{n.name + " redis url", c.RedisURL, "redis://127.0.0.1:6379/0"},
			{n.name + " secret required", strings.HasPrefix(env(s, "OPENROOM_SECRET"), "${OPENROOM_SECRET:?"), true},
			{n.name + " node ip from the environment", strings.HasPrefix(env(s, "OPENROOM_NODE_IP"), "${OPENROOM_NODE_IP:?"), true},
			{n.name + " host networking", s.NetworkMode, "host"},
			{n.name + " builds the image", s.Build.Dockerfile, "Dockerfile"},
		}...)
		for name := range s.Environment {
			tests = append(tests, struct {
				name      string
				got, want any
			}{n.name + " " + name + " is read by openroom", known[name], true})
		}
		for _, l := range listenersOf(t, c) {
			bound = append(bound, bind{n.name, l.key, l.port})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v; want %v", tc.got, tc.want)
			}
		})
	}
	for i, a := range bound {
		for _, b := range bound[i+1:] {
			if a.node != b.node && a.port.proto == b.port.proto && a.port.lo <= b.port.hi && b.port.lo <= a.port.hi {
				t.Errorf("%s %s (%v) and %s %s (%v) overlap", a.node, a.key, a.port, b.node, b.key, b.port)
			}
		}
	}
}
