package pionlog

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

// recorder keeps the records a logger at min lets through.
type recorder struct {
	min     slog.Level
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.min }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func TestLevels(t *testing.T) {
	tests := []struct {
		name   string
		log    func(l logger)
		want   slog.Level
		atInfo bool // shown at the default level
	}{
		{name: "warn is info", log: func(l logger) { l.Warnf("Failed to start manager: %s", "x") }, want: slog.LevelInfo, atInfo: true},
		{name: "error is warn", log: func(l logger) { l.Error("Failed to enable mDNS") }, want: slog.LevelWarn, atInfo: true},
		{name: "info is debug", log: func(l logger) { l.Info("ICE connection state changed") }, want: slog.LevelDebug},
		{name: "debug is below debug", log: func(l logger) { l.Debug("x") }, want: slog.LevelDebug - 4},
		{name: "ping before candidates", log: func(l logger) {
			l.Warn("Failed to ping without candidate pairs. Connection is not possible yet.")
		}, want: slog.LevelDebug},
		{name: "mux before its endpoint", log: func(l logger) {
			l.Warnf("Warning: mux: no endpoint for packet starting with %d, adding to queue size(%d)", 21, 0)
		}, want: slog.LevelDebug},
		{name: "stream closed at the end", log: func(l logger) { l.Warnf("Failed to accept RTP %v", "stream is already closed") }, want: slog.LevelDebug},
		{name: "candidate read after close", log: func(l logger) {
			l.Warnf("Failed to read from candidate %s: %v", "udp4 host 10.99.0.1:7882", "io: read/write on closed pipe")
		}, want: slog.LevelDebug},
		{name: "socket closed at shutdown", log: func(l logger) {
			l.Errorf("Failed to read UDP packet: %v", "read udp4 10.99.0.1:7882: use of closed network connection")
		}, want: slog.LevelDebug},
		{name: "turn tls scanner", log: func(l logger) { l.Errorf("TLS handshake failed: %s", "EOF") }, want: slog.LevelDebug},
		{name: "a write refused is kept", log: func(l logger) {
			l.Errorf("Failed to write packet: %v", "sendto: operation not permitted")
		}, want: slog.LevelWarn, atInfo: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all := &recorder{min: slog.LevelDebug - 8}
			tc.log(Factory{Log: slog.New(all)}.NewLogger("ice").(logger))
			if len(all.records) != 1 {
				t.Fatalf("records at trace: got %d; want 1", len(all.records))
			}
			if got := all.records[0].Level; got != tc.want {
				t.Errorf("level: got %v; want %v", got, tc.want)
			}
			info := &recorder{min: slog.LevelInfo}
			tc.log(Factory{Log: slog.New(info)}.NewLogger("ice").(logger))
			if got := len(info.records) == 1; got != tc.atInfo {
				t.Errorf("shown at info: got %v; want %v", got, tc.atInfo)
			}
		})
	}
}

func TestRoutinePrefixesAreMessages(t *testing.T) {
	for _, p := range append(append([]string{}, routinePrefixes...), closedErrors...) {
		t.Run(p, func(t *testing.T) {
			if len(p) < 10 {
				t.Errorf("length: got %d; want a prefix long enough not to catch other messages", len(p))
			}
		})
	}
}
