// Command lkload runs openroom's load (internal/loadgen: the same synthetic
// H.264 and Opus, the same stamps, the same report and --json fields as
// `openroom load`) against a LiveKit server, whose members join through
// LiveKit's Go client SDK with tokens made from the server's API key and
// secret. scripts/bench-livekit.sh runs it beside `openroom load`.
//
//	lkload --url ws://HOST:7880 --api-key KEY --api-secret SECRET [--publishers 1] [--subscribers 100] [--json]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	protoLogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/openroom/openroom/bench/livekit"
	"github.com/openroom/openroom/internal/loadgen"
)

const usage = `lkload: openroom's load tool against a LiveKit server. P publishers of synthetic H.264
and Opus and S subscribers join one room through LiveKit's Go SDK (its default interceptors),
then the same report as openroom load: forwarded packets/s, one-way delay p50/p95/p99, loss,
join times; with --server-pid, the server's CPU per forwarded packet and RSS per subscriber.

  lkload --url ws://HOST:7880 --api-key KEY --api-secret SECRET [--subscribers 100] [--json]

The SDK has no ICE address filter: its members gather candidates on every non-loopback address.
See docs/load.md and docs/benchmarks.md.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := loadgen.DefaultConfig()
	srv := &livekit.Server{}
	var cmd loadgen.CommandFlags
	fs := flag.NewFlagSet("lkload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&srv.URL, "url", "", "the LiveKit server's URL, e.g. ws://10.99.0.1:7880")
	fs.StringVar(&srv.APIKey, "api-key", os.Getenv("LIVEKIT_API_KEY"), "API key (default $LIVEKIT_API_KEY)")
	fs.StringVar(&srv.APISecret, "api-secret", os.Getenv("LIVEKIT_API_SECRET"), "API secret (default $LIVEKIT_API_SECRET)")
	cfg.Arrival = loadgen.ArrivalRead // the SDK's sockets are not the tool's to stamp
	cfg.AddFlags(fs)
	cmd.AddFlags(fs, "log level (debug shows the SDK's and pion's logs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if srv.URL == "" || srv.APIKey == "" || srv.APISecret == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "lkload: --url, --api-key and --api-secret are required and there are no arguments (flags start with --); see lkload --help")
		return 2
	}
	cfg.Server = srv
	// The SDK logs every join and track at info, and pion's routine events of
	// many connections coming and going as warnings: only the SDK's warnings and
	// pion's errors, as openroom load does, unless debugging.
	sdkConf := &protoLogger.Config{Level: "warn", ComponentLevels: map[string]string{"pion": "error"}}
	if cmd.LogLevel <= slog.LevelDebug {
		sdkConf = &protoLogger.Config{Level: "debug"}
	}
	sdkLog, err := protoLogger.NewZapLogger(sdkConf)
	if err != nil {
		fmt.Fprintln(stderr, "lkload: SDK logger:", err)
		return 1
	}
	lksdk.SetLogger(sdkLog)
	return cmd.RunAndReport(ctx, cfg, stdout, stderr)
}
