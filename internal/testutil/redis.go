package testutil

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"
)

// Redis is a real redis-server on a loopback port of its own, stopped when
// the test ends.
type Redis struct {
	Port int
	cmd  *exec.Cmd
}

// StartRedis starts redis-server on 127.0.0.1:port (0: a free port) without
// persistence, and waits until it accepts connections.
func StartRedis(t testing.TB, port int) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: apt-get install redis-server (scripts/test.sh does)")
	}
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
	}
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &Redis{Port: port, cmd: cmd}
	t.Cleanup(r.Stop)
	Eventually(t, 5*time.Second, "redis-server accepts connections", func() bool {
		c, err := net.Dial("tcp", r.Addr())
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	return r
}

// Addr is host:port.
func (r *Redis) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.Port) }

// URL is its redis_url.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Stop kills it (a second call does nothing).
func (r *Redis) Stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}
