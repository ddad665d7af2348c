package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/openroom/openroom/internal/loadgen"
)

const loadUsage = `openroom load: the capacity tool. P publishers of synthetic H.264 and Opus and S
subscribers, pion clients that speak only openroom's public signaling (open login must be
on), then a report: forwarded packets/s, one-way delay p50/p95/p99, loss, join and
first-packet times; with --server-pid, the server's CPU per forwarded packet and RSS per
subscriber. Every packet carries its send time and number behind its codec header.

  openroom load --url http://HOST:8080 [--publishers 1] [--subscribers 100] [--json]

Run it on another machine than the server, or pin both (taskset): they compete for CPU.
See docs/load.md.

Flags:
`

// runLoad is "openroom load".
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := loadgen.DefaultConfig()
	var asJSON, audioOnly, quiet bool
	var logLevel slog.Level
	fs := flag.NewFlagSet("openroom load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, loadUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.URL, "url", "", "the server's HTTP base URL, e.g. http://10.99.0.1:8080 (open login on)")
	fs.StringVar(&cfg.Room, "room", cfg.Room, "room to join")
	fs.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "members that publish audio and video (and receive each other)")
	fs.IntVar(&cfg.Subscribers, "subscribers", cfg.Subscribers, "members that only receive")
	fs.IntVar(&cfg.Subscribers, "n", cfg.Subscribers, "the same as --subscribers")
	fs.BoolVar(&audioOnly, "audio-only", false, "publishers send audio only")
	fs.StringVar(&cfg.LocalIP, "local-ip", os.Getenv("OPENROOM_TEST_IP2"), "the clients' ICE address (default $OPENROOM_TEST_IP2; empty: any non-loopback)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "server process to measure, on this machine (0: count packets only)")
	fs.IntVar(&cfg.Video.Bitrate, "video-bitrate", cfg.Video.Bitrate, "average video bitrate, bit/s")
	fs.IntVar(&cfg.Video.FPS, "fps", cfg.Video.FPS, "video frames per second")
	fs.DurationVar(&cfg.Video.KeyframeInterval, "keyframe-interval", cfg.Video.KeyframeInterval, "a keyframe this often")
	fs.IntVar(&cfg.Video.KeyframeWeight, "keyframe-weight", cfg.Video.KeyframeWeight, "a keyframe is this many times another frame")
	fs.IntVar(&cfg.Video.MaxPayload, "video-payload", cfg.Video.MaxPayload, "largest video RTP payload, bytes")
	fs.IntVar(&cfg.AudioPayload, "audio-payload", cfg.AudioPayload, "Opus RTP payload, bytes (50 packets/s)")
	fs.IntVar(&cfg.JoinParallel, "join-parallel", cfg.JoinParallel, "subscribers joining at once")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "after the publishers connect, before the idle RSS")
	fs.DurationVar(&cfg.IdleSample, "idle", cfg.IdleSample, "the idle RSS is averaged over this")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "after every subscriber receives media, before measuring")
	fs.DurationVar(&cfg.Window, "window", cfg.Window, "measurement window")
	fs.DurationVar(&cfg.ReadyTimeout, "ready-timeout", cfg.ReadyTimeout, "for a publisher to connect and the subscribers to receive media")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the payload noise")
	fs.BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	fs.BoolVar(&quiet, "quiet", false, "no progress line")
	fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "log level (debug shows pion's logs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.URL == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "openroom load: --url is required and there are no arguments (flags start with --); see openroom load --help")
		return 2
	}
	if audioOnly {
		cfg.Video.Bitrate = 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))
	if !quiet {
		cfg.Progress = func(p loadgen.Progress) { fmt.Fprintln(stderr, progressLine(p)) }
	}
	res, err := loadgen.Run(ctx, cfg, log)
	if err != nil {
		log.Error("load run failed", "err", err)
		return 1
	}
	if asJSON {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			return 1
		}
		return 0
	}
	printLoadResult(stdout, res)
	return 0
}

// progressLine is one line of progress, e.g.
// "[ 12.0 s] subscribers: 2/2 publishers, 60/100 joined, 55 receiving, 41200 pkt/s, p99 14.2 ms, loss 0.00 %".
func progressLine(p loadgen.Progress) string {
	return fmt.Sprintf("[%5.1f s] %s: %d publishers, %d subscribers joined, %d receiving, %.0f pkt/s, p99 %.1f ms, loss %.2f %%",
		p.Elapsed, p.Phase, p.Publishers, p.Subscribers, p.Receiving, p.ForwardedPerSec, p.DelayP99Ms, p.LossPct)
}

// printLoadResult writes the result for a human.
func printLoadResult(w io.Writer, r loadgen.Result) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(w, "members                   %d publishers, %d subscribers (all receiving after %.1f s)\n", r.Publishers, r.Subscribers, r.JoinSeconds)
	fmt.Fprintf(w, "joins                     subscriber join p50 %.0f ms, max %.0f ms; first packet p50 %.0f ms, max %.0f ms; publisher connected p50 %.0f ms, max %.0f ms\n",
		r.JoinP50Ms, r.JoinMaxMs, r.FirstPacketP50Ms, r.FirstPacketMaxMs, r.PublisherJoinP50Ms, r.PublisherJoinMaxMs)
	fmt.Fprintf(w, "window                    %.1f s\n", r.WindowSeconds)
	fmt.Fprintf(w, "published packets         video %d, audio %d\n", r.VideoSent, r.AudioSent)
	fmt.Fprintf(w, "forwarded packets         %d (%.0f/s; video %d, audio %d; delivered %.1f %% of published x receivers; least served subscriber: %d video)\n",
		r.Forwarded, float64(r.Forwarded)/r.WindowSeconds, r.VideoReceived, r.AudioReceived, 100*r.DeliveredRatio, r.MinSubscriberVideo)
	fmt.Fprintf(w, "one-way delay             p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms (%d packets)\n",
		r.DelayP50Ms, r.DelayP95Ms, r.DelayP99Ms, r.DelayMaxMs, r.DelaySamples)
	fmt.Fprintf(w, "loss                      %.2f %% of what was sent to the members\n", r.LossPct)
	if r.PaddingReceived > 0 {
		fmt.Fprintf(w, "padding-only packets      %d (probes; not counted as forwarded)\n", r.PaddingReceived)
	}
	if r.ServerPacketsOut >= 0 {
		fmt.Fprintf(w, "server packets out        %d (openroom_rtp_packets_total{direction=\"out\"})\n", r.ServerPacketsOut)
	}
	fmt.Fprintf(w, "repairs                   %d packets NACKed (-1: unknown), %d UDP datagrams dropped, %d keyframe requests\n",
		r.ServerNACKed, r.UDPDrops, r.KeyframeRequests)
	if r.ServerStale > 0 {
		fmt.Fprintf(w, "server behind             %d packets not forwarded: the server got to them too late (short of CPU)\n", r.ServerStale)
	}
	if r.ServerCPUSeconds > 0 || r.RSSIdle > 0 {
		fmt.Fprintf(w, "server CPU                %.0f ns per forwarded packet, %.1f %% of one core\n", r.CPUNsPerForwarded, r.ServerCorePercent)
		fmt.Fprintf(w, "server RSS                idle %.1f MiB, loaded %.1f MiB (max %.1f), %.2f MiB per subscriber\n",
			mib(r.RSSIdle), mib(r.RSSLoaded), mib(r.RSSLoadedMax), r.RSSPerSubscriber/(1<<20))
	}
	fmt.Fprintf(w, "load generator CPU        %.1f %% of one core\n", r.LoadgenCorePercent)
	fmt.Fprintf(w, "machine busy              %.1f %% of %d CPUs (other processes: %.1f %% of one core)\n",
		r.MachineBusyPercent, r.CPUs, r.OtherCorePercent)
}
