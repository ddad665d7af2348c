// Command openroom-load is a whole-server load generator and meter for openroom:
// one publisher of synthetic H.264 + Opus and N subscribers, pion clients that
// use only the public signaling protocol, while the server process is measured
// from /proc (CPU per forwarded packet, RSS per subscriber). See internal/loadgen
// and scripts/bench-server.sh, which runs it inside the private network namespace.
//
//	openroom-load --url http://10.99.0.1:18080 --local-ip 10.99.0.2 --server-pid PID [-n 100] [--json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/openroom/openroom/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := loadgen.DefaultConfig()
	var asJSON bool
	var logLevel slog.Level
	fs := flag.NewFlagSet("openroom-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", "", "the server's HTTP base URL, e.g. http://10.99.0.1:18080 (open login on)")
	fs.StringVar(&cfg.Room, "room", cfg.Room, "room to join")
	fs.IntVar(&cfg.Subscribers, "n", cfg.Subscribers, "subscribers")
	fs.StringVar(&cfg.LocalIP, "local-ip", os.Getenv("OPENROOM_TEST_IP2"), "the clients' ICE address (default $OPENROOM_TEST_IP2; empty: any non-loopback)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "server process to measure (0: count packets only)")
	fs.IntVar(&cfg.Video.Bitrate, "video-bitrate", cfg.Video.Bitrate, "average video bitrate, bit/s")
	fs.IntVar(&cfg.Video.FPS, "fps", cfg.Video.FPS, "video frames per second")
	fs.DurationVar(&cfg.Video.KeyframeInterval, "keyframe-interval", cfg.Video.KeyframeInterval, "a keyframe this often")
	fs.IntVar(&cfg.Video.KeyframeWeight, "keyframe-weight", cfg.Video.KeyframeWeight, "a keyframe is this many times another frame")
	fs.IntVar(&cfg.Video.MaxPayload, "video-payload", cfg.Video.MaxPayload, "largest video RTP payload, bytes")
	fs.IntVar(&cfg.AudioPayload, "audio-payload", cfg.AudioPayload, "Opus RTP payload, bytes (50 packets/s)")
	fs.IntVar(&cfg.JoinParallel, "join-parallel", cfg.JoinParallel, "subscribers joining at once")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "after the publisher connects, before the idle RSS")
	fs.DurationVar(&cfg.IdleSample, "idle", cfg.IdleSample, "the idle RSS is averaged over this")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "after every subscriber receives video, before measuring")
	fs.DurationVar(&cfg.Window, "window", cfg.Window, "measurement window")
	fs.DurationVar(&cfg.ReadyTimeout, "ready-timeout", cfg.ReadyTimeout, "for the publisher to connect and the subscribers to receive video")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the payload noise")
	fs.BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "log level (debug shows pion's logs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.URL == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "openroom-load: --url is required and there are no arguments (flags start with --)")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))
	res, err := loadgen.Run(ctx, cfg, log)
	if err != nil {
		log.Error("run failed", "err", err)
		return 1
	}
	if asJSON {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			return 1
		}
		return 0
	}
	printResult(stdout, res)
	return 0
}

// printResult writes the result for a human.
func printResult(w io.Writer, r loadgen.Result) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(w, "subscribers               %d (all receiving video after %.1f s)\n", r.Subscribers, r.JoinSeconds)
	fmt.Fprintf(w, "window                    %.1f s\n", r.WindowSeconds)
	fmt.Fprintf(w, "published packets         video %d, audio %d\n", r.VideoSent, r.AudioSent)
	fmt.Fprintf(w, "forwarded packets         %d (%.0f/s; video %d, audio %d; delivered %.1f %% of published x N; least served subscriber: %d video)\n",
		r.Forwarded, float64(r.Forwarded)/r.WindowSeconds, r.VideoReceived, r.AudioReceived, 100*r.DeliveredRatio, r.MinSubscriberVideo)
	if r.PaddingReceived > 0 {
		fmt.Fprintf(w, "padding-only packets      %d (probes; not counted as forwarded)\n", r.PaddingReceived)
	}
	if r.ServerPacketsOut >= 0 {
		fmt.Fprintf(w, "server packets out        %d (openroom_rtp_packets_total{direction=\"out\"})\n", r.ServerPacketsOut)
	}
	fmt.Fprintf(w, "repairs                   %d packets NACKed (-1: unknown), %d UDP datagrams dropped, %d keyframe requests\n",
		r.ServerNACKed, r.UDPDrops, r.KeyframeRequests)
	fmt.Fprintf(w, "server CPU                %.0f ns per forwarded packet, %.1f %% of one core\n", r.CPUNsPerForwarded, r.ServerCorePercent)
	fmt.Fprintf(w, "server RSS                idle %.1f MiB, loaded %.1f MiB (max %.1f), %.2f MiB per subscriber\n",
		mib(r.RSSIdle), mib(r.RSSLoaded), mib(r.RSSLoadedMax), r.RSSPerSubscriber/(1<<20))
	fmt.Fprintf(w, "load generator CPU        %.1f %% of one core\n", r.LoadgenCorePercent)
	fmt.Fprintf(w, "machine busy              %.1f %% of %d CPUs (other processes: %.1f %% of one core)\n",
		r.MachineBusyPercent, r.CPUs, r.OtherCorePercent)
}
