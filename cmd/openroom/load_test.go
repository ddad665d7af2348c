package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/openroom/openroom/internal/loadgen"
)

// TestLoadCommand runs `openroom load` against a real server in this process,
// with every member a pion client: the report must account for every packet,
// with delays measured from the stamps, and the join times.
func TestLoadCommand(t *testing.T) {
	if os.Getenv("OPENROOM_NETNS") != "1" {
		t.Skip("WebRTC: run inside the private network namespace (scripts/test.sh)")
	}
	ip, clientIP := os.Getenv("OPENROOM_TEST_IP"), os.Getenv("OPENROOM_TEST_IP2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newSyncBuffer("openroom listening")
	done := startRun(t, ctx, []string{"--http", ip + ":0", "--rtmp", "", "--turn", "", "--rtc-port", strconv.Itoa(freeUDPPort(t, ip)),
		"--node-ip", ip, "--drain", "1s"}, stderr, nil)
	waitStarted(t, stderr, done)
	url := "http://" + listenRE.FindStringSubmatch(stderr.String())[1]
	defer func() {
		cancel()
		waitCode(t, done, stderr)
	}()

	tests := []struct {
		name  string
		args  []string
		video bool
	}{
		{"2 publishers x 3 subscribers", []string{"--publishers", "2", "--subscribers", "3", "--room", "load-av"}, true},
		{"audio only, 3 x 2", []string{"--publishers", "3", "--subscribers", "2", "--audio-only", "--room", "load-audio"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"load", "--url", url, "--local-ip", clientIP, "--server-pid", strconv.Itoa(os.Getpid()),
				"--settle", "300ms", "--idle", "250ms", "--warmup", "1s", "--window", "2s", "--json"}, tc.args...)
			var stdout bytes.Buffer
			loadErr := newSyncBuffer("\x00")
			if code := run(ctx, args, &stdout, loadErr, fakeEnv(nil)); code != 0 {
				t.Fatalf("openroom load: exit %d; stderr:\n%s", code, loadErr.String())
			}
			var r loadgen.Result
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("--json output %q: %v", stdout.String(), err)
			}
			t.Logf("%+v", r)
			pubs, _ := strconv.Atoi(tc.args[1])
			subs, _ := strconv.Atoi(tc.args[3])
			if r.Publishers != pubs || r.Subscribers != subs {
				t.Errorf("members: got %d publishers, %d subscribers; want %d, %d", r.Publishers, r.Subscribers, pubs, subs)
			}
			if (r.VideoSent > 0) != tc.video || r.AudioSent == 0 {
				t.Errorf("published: got video %d, audio %d; want video: %v, audio", r.VideoSent, r.AudioSent, tc.video)
			}
			if r.DeliveredRatio < 0.9 || r.DeliveredRatio > 1.1 {
				t.Errorf("delivered: got %.3f of published x receivers; want about 1", r.DeliveredRatio)
			}
			if r.DelaySamples < r.Forwarded/2 || r.DelayP50Ms <= 0 || r.DelayP99Ms < r.DelayP50Ms || r.DelayP99Ms > 1000 {
				t.Errorf("delay: got p50 %.2f p99 %.2f ms over %d packets (%d forwarded); want stamped packets measured", r.DelayP50Ms, r.DelayP99Ms, r.DelaySamples, r.Forwarded)
			}
			if r.LossPct > 5 {
				t.Errorf("loss: got %.2f %%; want about 0 on loopback", r.LossPct)
			}
			if r.JoinP50Ms <= 0 || r.FirstPacketP50Ms <= 0 || r.PublisherJoinP50Ms <= 0 {
				t.Errorf("join times: got join %.1f, first packet %.1f, publisher %.1f ms; want all measured", r.JoinP50Ms, r.FirstPacketP50Ms, r.PublisherJoinP50Ms)
			}
			if r.ServerCPUSeconds <= 0 || r.RSSLoaded <= 0 {
				t.Errorf("--server-pid: got CPU %.2f s, RSS %d; want both sampled", r.ServerCPUSeconds, r.RSSLoaded)
			}
			if !strings.Contains(loadErr.String(), "] window: ") {
				t.Errorf("progress: got no progress line for the window in\n%s", loadErr.String())
			}
		})
	}
}

func TestLoadCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"load"}, "--url is required"},
		{"an argument", []string{"load", "--url", "http://x", "extra"}, "there are no arguments"},
		{"unknown flag", []string{"load", "--nope"}, "openroom load: unknown flag --nope (see openroom load --help for the flags)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(context.Background(), tc.args, io.Discard, &stderr, fakeEnv(nil)); code != 2 {
				t.Errorf("exit code: got %d; want 2", code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr: got %q; want it to contain %q", stderr.String(), tc.want)
			}
		})
	}
}
