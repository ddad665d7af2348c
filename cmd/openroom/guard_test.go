package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startGuarded runs the server with small caps and timeouts and returns its
// HTTP address.
func startGuarded(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := newSyncBuffer("openroom listening")
	done := startRun(t, ctx, []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", ""}, stderr, map[string]string{
		"OPENROOM_MAX_CONNECTIONS_PER_IP": "6",
		"OPENROOM_HTTP_HEADER_TIMEOUT":    "400ms",
		"OPENROOM_HTTP_BODY_TIMEOUT":      "400ms",
		"OPENROOM_HTTP_IDLE_TIMEOUT":      "400ms",
	})
	t.Cleanup(func() {
		cancel()
		if code := waitCode(t, done, stderr); code != 0 {
			t.Errorf("exit code: got %d; want 0; stderr:\n%s", code, stderr.String())
		}
	})
	waitStarted(t, stderr, done)
	m := listenRE.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no listen address in\n%s", stderr.String())
	}
	return m[1]
}

// closedWithin reads c until it ends; it fails when that takes longer than d.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", d, b)
	}
	return string(b)
}

// scrapeMetrics reads /metrics from another client address (127.0.0.2), so
// that the per-address cap on 127.0.0.1 does not apply to it.
func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitOpen waits until the server counts n TCP connections open (the scrape
// included); net/http keeps a connection it cut for up to 0.5 s.
func waitOpen(t *testing.T, addr string, n int) {
	t.Helper()
	want := fmt.Sprintf("openroom_tcp_connections %d\n", n)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out := scrapeMetrics(t, addr)
		if strings.Contains(out, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("open connections: got %s; want %d", grepLines(out, "openroom_tcp_connections "), n)
		}
	}
}

func TestConnectionLimitsAndTimeouts(t *testing.T) {
	addr := startGuarded(t)
	dial := func(t *testing.T) net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	t.Run("request headers sent too slowly", func(t *testing.T) {
		c := dial(t)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n") // and nothing more
		closedWithin(t, c, 5*time.Second)
	})
	t.Run("a body dripped", func(t *testing.T) {
		c := dial(t)
		_, _ = io.WriteString(c, "POST /weapp/webrtc_room/get_room_list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
		for range 3 { // a byte now and then keeps no connection open past the body timeout
			time.Sleep(150 * time.Millisecond)
			if _, err := io.WriteString(c, " "); err != nil {
				break
			}
		}
		closedWithin(t, c, 5*time.Second)
	})
	t.Run("an idle keep-alive connection", func(t *testing.T) {
		c := dial(t)
		_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		closedWithin(t, c, 5*time.Second)
	})
	t.Run("too many connections from one address", func(t *testing.T) {
		waitOpen(t, addr, 1) // the cut ones are gone
		var held []net.Conn
		for range 6 {
			held = append(held, dial(t))
		}
		time.Sleep(100 * time.Millisecond) // all accepted and counted
		c := dial(t)
		got := closedWithin(t, c, 5*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 429 ") || !strings.Contains(got, "max_connections_per_ip") {
			t.Errorf("refusal: got %q; want HTTP 429 naming max_connections_per_ip", got)
		}
		for _, h := range held {
			_ = h.Close()
		}
	})

	waitOpen(t, addr, 1)
	out := scrapeMetrics(t, addr)
	for _, want := range []string{
		`openroom_timeouts_total{kind="http_header"} 1`,
		`openroom_timeouts_total{kind="http_body"} 1`,
		`openroom_timeouts_total{kind="http_idle"} 1`,
		`openroom_tcp_connections_refused_total{reason="per_ip"} 1`,
		`openroom_timeouts_total{kind="ws_join"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics: got no %q in\n%s", want, grepLines(out, "openroom_t"))
		}
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return fmt.Sprint(strings.Join(out, "\n"))
}
