package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	var cmd loadgen.CommandFlags
	fs := flag.NewFlagSet("openroom load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, loadUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.URL, "url", "", "the server's HTTP base URL, e.g. http://10.99.0.1:8080 (open login on)")
	cfg.AddFlags(fs)
	cmd.AddFlags(fs, "log level (debug shows pion's logs)")
	fs.StringVar(&cfg.LocalIP, "local-ip", os.Getenv("OPENROOM_TEST_IP2"), "the clients' ICE address (default $OPENROOM_TEST_IP2; empty: any non-loopback)")
	if err := parseFlags(fs, args, nil); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "openroom load: %v\n", err)
		return 2
	}
	if cfg.URL == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "openroom load: --url is required and there are no arguments (flags start with --); see openroom load --help")
		return 2
	}
	return cmd.RunAndReport(ctx, cfg, stdout, stderr)
}
