package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestEnvironLookup(t *testing.T) {
	e := environ{"A=1", "B=", "A=2", "C"}
	tests := []struct {
		name   string
		want   string
		wantOK bool
	}{
		{name: "A", want: "1", wantOK: true}, // the first wins, as in os
		{name: "B", want: "", wantOK: true},
		{name: "C"},
		{name: "D"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := e.lookup(tc.name); got != tc.want || ok != tc.wantOK {
				t.Errorf("lookup: got %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestUnknownEnvIsWarned: a mistyped OPENROOM_ variable is warned about once,
// with the nearest setting; the scripts' own variables are not.
func TestUnknownEnvIsWarned(t *testing.T) {
	env := map[string]string{"OPENROOM_ROOM_CAPACTY": "4", "OPENROOM_TEST_IP": "10.99.0.1", "OPENROOM_NETNS": "1",
		"OPENROOM_E2E_VERBOSE": "1", "OPENROOM_LOG_LEVEL": "info"}
	const warning = "unknown environment variable OPENROOM_ROOM_CAPACTY ignored; did you mean OPENROOM_ROOM_CAPACITY?"
	t.Run("server", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stderr := newSyncBuffer("openroom is ready")
		done := startRun(t, ctx, []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", ""}, stderr, env)
		waitStarted(t, stderr, done)
		cancel()
		waitCode(t, done, stderr)
		logs := stderr.String()
		if got := strings.Count(logs, `level=WARN msg="`+warning+`"`); got != 1 {
			t.Errorf("warnings: got %d; want 1 in\n%s", got, logs)
		}
		if got := strings.Count(logs, "environment variable"); got != 1 {
			t.Errorf("environment warnings: got %d; want only the typo's in\n%s", got, logs)
		}
		if got := strings.Count(logs, "openroom is ready"); got != 1 {
			t.Errorf("banners: got %d; want 1 in\n%s", got, logs)
		}
	})
	t.Run("config print", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"config", "print"}, &stdout, &stderr, fakeEnv(env)); code != 0 {
			t.Fatalf("exit code: got %v; want %v (stderr %q)", code, 0, stderr.String())
		}
		if got, want := stderr.String(), "openroom: warning: "+warning+"\n"; got != want {
			t.Errorf("stderr: got %q; want %q", got, want)
		}
	})
}
