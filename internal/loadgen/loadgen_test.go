package loadgen

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestResultFill(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := snapshot{at: t0, server: ProcSample{CPU: 10 * time.Second}, self: ProcSample{CPU: time.Second},
		machine:  machineCPU{busy: 100 * time.Second, total: 400 * time.Second},
		subVideo: []int64{100, 200}, videoReceived: 300, audioReceived: 50, videoSent: 1000, audioSent: 500, publishers: 1,
		rxReceived: 340, rxSent: 350,
		serverOut: 7, nacked: -1, stale: 5, udpDrops: 3}
	b := snapshot{at: t0.Add(20 * time.Second), server: ProcSample{CPU: 14 * time.Second}, self: ProcSample{CPU: 5 * time.Second},
		machine:  machineCPU{busy: 120 * time.Second, total: 440 * time.Second},
		subVideo: []int64{2100, 2180}, videoReceived: 4280, audioReceived: 2050, videoSent: 3000, audioSent: 1500, publishers: 1,
		rxReceived: 6320, rxSent: 6350,
		serverOut: 6007, nacked: 9, stale: 8, udpDrops: 3}
	r := Result{RSSIdle: 40 << 20, RSSLoaded: 42 << 20}
	r.fill(a, b, true, 2)
	want := Result{
		Publishers: 1, Subscribers: 2, WindowSeconds: 20, LossPct: 0.33, VideoSent: 2000, AudioSent: 1000,
		VideoReceived: 3980, AudioReceived: 2000, PaddingReceived: 0, Forwarded: 5980, ServerPacketsOut: 6000, ServerNACKed: -1, ServerStale: 3, UDPDrops: 0,
		DeliveredRatio: 0.9967, MinSubscriberVideo: 1980,
		ServerCPUSeconds: 4, CPUNsPerForwarded: 668896, ServerCorePercent: 20,
		RSSIdle: 40 << 20, RSSLoaded: 42 << 20, RSSPerSubscriber: 1 << 20,
		LoadgenCorePercent: 20, MachineBusyPercent: 50, OtherCorePercent: 60, CPUs: 2,
	}
	if r != want {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
}

func TestPaddingOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"media", append([]byte{0x80, 102, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9}, 0x41, 1, 2), false},
		{"padded media", append([]byte{0xa0, 102, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9}, 0x41, 1, 0, 2), false},
		{"padding only", append([]byte{0xa0, 102, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9}, 0, 0, 0, 4), true},
		{"padding only with an extension", append([]byte{0xb0, 102, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9,
			0xbe, 0xde, 0, 1, 0x10, 7, 0, 0}, 0, 0, 0, 0, 0, 0, 0, 8), true},
		{"short", []byte{0xa0, 102}, false},
	} {
		if got := paddingOnly(tc.pkt); got != tc.want {
			t.Errorf("%s: %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestRunRefusesBadMembers(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{"no member", func(c *Config) { c.Publishers, c.Subscribers = 0, 0 }},
		{"negative publishers", func(c *Config) { c.Publishers, c.Subscribers = -1, 5 }},
		{"negative subscribers", func(c *Config) { c.Publishers, c.Subscribers = 1, -1 }},
		{"unknown arrival", func(c *Config) { c.Arrival = "socket" }},
		{"kernel arrival on another server", func(c *Config) { c.Arrival, c.Server = ArrivalKernel, nopServer{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.set(&cfg)
			if _, err := Run(t.Context(), cfg, nil); err == nil {
				t.Errorf("Run(%+v): got nil; want an error", cfg)
			}
		})
	}
}

// nopServer is a Server nobody can join.
type nopServer struct{}

func (nopServer) Subscribe(context.Context, string, *Member) (Conn, error) {
	return nil, errors.New("nop")
}

func (nopServer) Publish(context.Context, string, *Member, PublishOptions) (Publication, error) {
	return nil, errors.New("nop")
}
