package loadgen

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
)

// CommandFlags are a load command's flags besides the load's own
// (Config.AddFlags) and its server's: --audio-only and the output.
type CommandFlags struct {
	AudioOnly, JSON, Quiet bool
	LogLevel               slog.Level
	CPUProfile             string // a file: the tool's own CPU profile over the run
}

// AddFlags registers the flags on fs; logHelp describes --log-level.
func (f *CommandFlags) AddFlags(fs *flag.FlagSet, logHelp string) {
	fs.BoolVar(&f.AudioOnly, "audio-only", false, "publishers send audio only")
	fs.BoolVar(&f.JSON, "json", false, "print the result as one JSON object")
	fs.BoolVar(&f.Quiet, "quiet", false, "no progress line")
	fs.TextVar(&f.LogLevel, "log-level", slog.LevelInfo, logHelp)
	fs.StringVar(&f.CPUProfile, "cpu-profile", "", "write the load tool's own CPU profile over the run to this file (go tool pprof)")
}

// RunAndReport runs the load cfg describes, as the flags say, and reports
// the result on stdout (JSON with --json), with a progress line and the log
// on stderr. It returns the exit code of a load command: 0, or 1 when the
// run failed.
func (f *CommandFlags) RunAndReport(ctx context.Context, cfg Config, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: f.LogLevel}))
	if f.AudioOnly {
		cfg.Video.Bitrate = 0
	}
	if !f.Quiet {
		cfg.Progress = func(p Progress) { fmt.Fprintln(stderr, ProgressLine(p)) }
	}
	if f.CPUProfile != "" {
		stop, err := startCPUProfile(f.CPUProfile)
		if err != nil {
			log.Error("load run failed", "err", err)
			return 1
		}
		defer stop()
	}
	res, err := Run(ctx, cfg, log)
	if err != nil {
		log.Error("load run failed", "err", err)
		return 1
	}
	if f.JSON {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			return 1
		}
		return 0
	}
	PrintResult(stdout, res)
	return 0
}

// ProgressLine is one line of progress, e.g.
// "[ 12.0 s] subscribers: 2/2 publishers, 60/100 joined, 55 receiving, 41200 pkt/s, p99 14.2 ms, loss 0.00 %".
func ProgressLine(p Progress) string {
	return fmt.Sprintf("[%5.1f s] %s: %d publishers, %d subscribers joined, %d receiving, %.0f pkt/s, p99 %.1f ms, loss %.2f %%",
		p.Elapsed, p.Phase, p.Publishers, p.Subscribers, p.Receiving, p.ForwardedPerSec, p.DelayP99Ms, p.LossPct)
}

// PrintResult writes the result for a human (the report of `openroom load`).
func PrintResult(w io.Writer, r Result) {
	toMiB := func(b int64) float64 { return float64(b) / (1 << 20) }
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
			toMiB(r.RSSIdle), toMiB(r.RSSLoaded), toMiB(r.RSSLoadedMax), r.RSSPerSubscriber/(1<<20))
	}
	fmt.Fprintf(w, "load generator CPU        %.1f %% of one core\n", r.LoadgenCorePercent)
	fmt.Fprintf(w, "machine busy              %.1f %% of %d CPUs (other processes: %.1f %% of one core)\n",
		r.MachineBusyPercent, r.CPUs, r.OtherCorePercent)
}

// startCPUProfile profiles this process into path until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("loadgen: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("loadgen: cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
