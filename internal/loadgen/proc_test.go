package loadgen

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := []byte("4242 (open (room) x) S 1 4242 4242 0 -1 4194560 2510 0 0 0 150 25 0 0 20 0 12 0 5000 1000000 9000 18446744073709551615\n")
	got, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 175 * clockTick; got != want {
		t.Fatalf("cpu %v; want %v", got, want)
	}
	if _, err := parseStatCPU([]byte("4242 (x) S 1")); err == nil {
		t.Fatal("short stat: want an error")
	}
}

func TestParseStatusRSS(t *testing.T) {
	got, err := parseStatusRSS([]byte("Name:\topenroom\nVmPeak:\t 999 kB\nVmRSS:\t   51200 kB\nThreads:\t12\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(51200 << 10); got != want {
		t.Fatalf("rss %d; want %d", got, want)
	}
	if _, err := parseStatusRSS([]byte("Name:\tkthreadd\n")); err == nil {
		t.Fatal("no VmRSS: want an error")
	}
}

func TestParseMachineCPU(t *testing.T) {
	m, err := parseMachineCPU([]byte("cpu  100 5 50 800 40 3 2 1 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	// busy: user nice system irq softirq steal = 100+5+50+3+2+1; idle and iowait are not.
	if m.busy != 161*clockTick || m.total != 1001*clockTick {
		t.Fatalf("busy %v total %v; want %v %v", m.busy, m.total, 161*clockTick, 1001*clockTick)
	}
}

func TestParseUDPDrops(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n" +
		"Udp: 147651 75 3 147923 3 0\n" +
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n" +
		"UdpLite: 0 0 0 0 0 0\n"
	if got := parseUDPDrops([]byte(snmp)); got != 3 {
		t.Fatalf("drops %d; want 3", got)
	}
	if got := parseUDPDrops([]byte("Ip: 1\n")); got != -1 {
		t.Fatalf("no Udp lines: %d; want -1", got)
	}
}

func TestProcFS(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("7/stat", "7 (openroom) S 1 7 7 0 -1 0 0 0 0 0 300 100 0 0 20 0 1 0 1 1 1\n")
	write("7/status", "VmRSS:\t2048 kB\n")
	write("stat", "cpu  1 0 1 10 0 0 0 0\ncpu0 1 0 1 5 0 0 0 0\ncpu1 0 0 0 5 0 0 0 0\nintr 0\n")
	p := procFS{root: root}
	s, err := p.process(7)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU != 4*time.Second || s.RSS != 2<<20 {
		t.Fatalf("got %+v; want 4s and 2 MiB", s)
	}
	if n := p.cpuCount(); n != 2 {
		t.Fatalf("cpus %d; want 2", n)
	}
	if _, err := p.process(8); err == nil {
		t.Fatal("missing process: want an error")
	}
}
