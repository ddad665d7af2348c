package turn

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// coturn's test tools (Debian package coturn; scripts/test.sh installs it).
const (
	uclientBin = "turnutils_uclient"
	peerBin    = "turnutils_peer"
)

// uclientDeadline bounds one turnutils_uclient run.
const uclientDeadline = 30 * time.Second

func lookTools(t *testing.T) (uclient, peer string) {
	t.Helper()
	uclient, err1 := exec.LookPath(uclientBin)
	peer, err2 := exec.LookPath(peerBin)
	if err1 != nil || err2 != nil {
		t.Skipf("coturn's %s and %s are not installed (apt-get install coturn; scripts/test.sh does): skipping the interop test", uclientBin, peerBin)
	}
	return uclient, peer
}

// startPeer runs turnutils_peer, an echo server, on 127.0.0.1 and returns its port.
func startPeer(t *testing.T, bin string) int {
	t.Helper()
	// A free UDP port: bind, note, close (the namespace is ours; nothing races for it).
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	_ = pc.Close()
	cmd := exec.Command(bin, "-L", "127.0.0.1", "-p", strconv.Itoa(port))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Wait until it answers: an echo of a probe.
	probe, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	for deadline := time.Now().Add(testDeadline); time.Now().Before(deadline); {
		_, _ = probe.WriteTo([]byte("probe"), dst)
		if got, _, err := readWithin(probe, 100*time.Millisecond); err == nil && got == "probe" {
			return port
		}
	}
	t.Fatalf("%s did not echo within %v; output:\n%s", bin, testDeadline, out.String())
	return 0
}

var (
	recvRE = regexp.MustCompile(`start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`) // the totals line
	lostRE = regexp.MustCompile(`Total lost packets (\d+)`)
)

// runUclient runs turnutils_uclient against the server and returns its output,
// whether it exited 0, and the messages sent and echoed back through the relay
// (its totals line, "start_mclient: tot_send_msgs=N, tot_recv_msgs=M").
func runUclient(t *testing.T, bin string, args ...string) (out string, ok bool, sent, received int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), uclientDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v: no result within %v; output:\n%s", bin, args, uclientDeadline, buf.String())
	}
	out = buf.String()
	if m := recvRE.FindStringSubmatch(out); m != nil {
		sent, _ = strconv.Atoi(m[1])
		received, _ = strconv.Atoi(m[2])
	}
	return out, err == nil, sent, received
}

func TestCoturnUclient(t *testing.T) {
	uclient, peerTool := lookTools(t)
	requireNetns(t)
	noLeaks(t)
	peerPort := startPeer(t, peerTool)
	// turnutils_peer listens on loopback: refused by default, so this server allows
	// exactly it (turn_allow: 127.0.0.1/32).
	ts := startServer(t, func(c *Config) {
		c.Policy.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	_, udpPort, _ := net.SplitHostPort(ts.UDP)
	_, tcpPort, _ := net.SplitHostPort(ts.TCP)
	const messages = 20
	user, pass := creds("uclient")
	// args: our credentials, the peer, 20 messages of 200 bytes every 5 ms, then
	// the flags of the case and the server address.
	args := func(port string, flags ...string) []string {
		a := []string{"-u", user, "-w", pass, "-e", "127.0.0.1", "-r", strconv.Itoa(peerPort),
			"-p", port, "-n", strconv.Itoa(messages), "-l", "200", "-z", "5"}
		return append(append(a, flags...), "127.0.0.1")
	}
	tests := []struct {
		name string
		args []string
	}{
		{name: "udp", args: args(udpPort, "-c")},
		{name: "udp with rtcp pair", args: args(udpPort)}, // EVEN-PORT and RESERVATION-TOKEN
		{name: "udp send indications", args: args(udpPort, "-c", "-s")},
		{name: "udp ipv4 relay requested", args: args(udpPort, "-c", "-X")},
		{name: "tcp", args: args(tcpPort, "-t", "-c")},
		{name: "tcp with rtcp pair", args: args(tcpPort, "-t")},
		{name: "coturn minted credentials", args: []string{"-u", "uclient", "-W", string(testSecret), "-e", "127.0.0.1",
			"-r", strconv.Itoa(peerPort), "-p", udpPort, "-n", strconv.Itoa(messages), "-c", "127.0.0.1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, ok, sent, received := runUclient(t, uclient, tc.args...)
			// Each session sends `messages` (with an RTCP pair, two sessions).
			if !ok || sent < messages || received != sent {
				t.Errorf("uclient %v: got exit ok=%v, sent %v, echoed %v; want ok, at least %v, all echoed\n%s", tc.args, ok, sent, received, messages, out)
			}
			if m := lostRE.FindStringSubmatch(out); m == nil || m[1] != "0" {
				t.Errorf("uclient: want \"Total lost packets 0\" in\n%s", out)
			}
		})
	}
	if st := ts.Stats(); st.BytesRelayed == 0 || st.AuthFailures != 0 {
		t.Errorf("Stats: got %+v; want bytes relayed and no auth failures", st)
	}
}

func TestCoturnUclientDefaultRefusesLoopbackPeer(t *testing.T) {
	uclient, peerTool := lookTools(t)
	requireNetns(t)
	noLeaks(t)
	peerPort := startPeer(t, peerTool)
	ts := startServer(t, nil) // default policy: loopback refused
	_, udpPort, _ := net.SplitHostPort(ts.UDP)
	user, pass := creds("uclient")
	out, ok, _, received := runUclient(t, uclient, "-u", user, "-w", pass, "-e", "127.0.0.1", "-r", strconv.Itoa(peerPort),
		"-p", udpPort, "-n", "5", "-c", "127.0.0.1")
	if ok && received > 0 {
		t.Errorf("uclient: got %v messages echoed through a relay to 127.0.0.1; want none\n%s", received, out)
	}
	if ts.Stats().PeersRefused == 0 {
		t.Errorf("Stats().PeersRefused: got 0; want the loopback peer refused\n%s", out)
	}
}
