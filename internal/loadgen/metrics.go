package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Counters the server exports on /metrics (metrics/metrics.go). They are
// cross-checks only: the measurement is what the members count, so a server
// that renames them still works (they read -1).
const (
	metricPacketsOut = `openroom_rtp_packets_total{direction="out"}`
	metricNACKed     = `openroom_nacked_packets_total`
	metricStale      = `openroom_stale_dropped_total`
)

// serverCounters scrapes /metrics for the named counters; a counter that is
// missing (or the whole scrape, when it fails or there is no baseURL) reads -1.
func serverCounters(ctx context.Context, hc *http.Client, baseURL string, names ...string) []int64 {
	out := make([]int64, len(names))
	for i := range out {
		out[i] = -1
	}
	if baseURL == "" {
		return out
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return out
	}
	res, err := hc.Do(req)
	if err != nil {
		return out
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return out
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for i, name := range names {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					out[i] = int64(f)
				}
			}
		}
	}
	return out
}

// udpDrops is the number of UDP datagrams the kernel dropped because a socket's
// receive buffer was full (RcvbufErrors in net/snmp, counted per network
// namespace): loss inside the benchmark itself, which NACKs then repair.
func (p procFS) udpDrops() int64 {
	data, err := os.ReadFile(filepath.Join(p.root, "net", "snmp"))
	if err != nil {
		return -1
	}
	return parseUDPDrops(data)
}

// parseUDPDrops reads RcvbufErrors from the "Udp:" header and value lines of net/snmp.
func parseUDPDrops(data []byte) int64 {
	var header []string
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		f := strings.Fields(string(line))
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i, name := range header {
			if name == "RcvbufErrors" && i < len(f) {
				if n, err := strconv.ParseInt(f[i], 10, 64); err == nil {
					return n
				}
			}
		}
		return -1
	}
	return -1
}
