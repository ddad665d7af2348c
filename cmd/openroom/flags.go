package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/openroom/openroom/config"
)

// loadConfig builds the configuration: defaults, then --config FILE, then env, then flags.
// The flags are parsed twice: first to find the file (and report bad flags),
// then onto the loaded configuration, so only flags that were given override.
func loadConfig(args []string, stderr io.Writer, env environ) (config.Config, error) {
	var scratch config.Config
	var file string
	first := newFlagSet(stderr, &scratch, &file)
	if err := parseFlags(first, args, serverFlagAliases); err != nil {
		return config.Default(), err
	}
	if first.NArg() > 0 {
		return config.Default(), fmt.Errorf("unexpected argument %q (flags start with --)", first.Arg(0))
	}
	cfg := config.Default()
	if file != "" {
		if err := cfg.LoadFile(file); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(env.lookup); err != nil {
		return cfg, err
	}
	fs := newFlagSet(stderr, &cfg, &file)
	_ = fs.Parse(args) // the same arguments parsed cleanly above
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["production"] && cfg.Production && !set["open-login"] {
		cfg.OpenLogin = false // production implies closed login unless said otherwise
	}
	if err := cfg.Validate(); err != nil {
		return cfg, withFileLine(err, file)
	}
	return cfg, nil
}

// newFlagSet binds every server flag to a field of c.
func newFlagSet(stderr io.Writer, c *config.Config, file *string) *flag.FlagSet {
	fs := flag.NewFlagSet("openroom", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	list := func(dst *[]string) func(string) error {
		return func(v string) error { *dst = splitComma(v); return nil }
	}
	fs.StringVar(file, "config", "", "YAML config file")
	fs.StringVar(&c.HTTP, "http", c.HTTP, "HTTP listen address")
	fs.StringVar(&c.HTTPS, "https", c.HTTPS, "HTTPS listen address")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "HTTPS certificate file (PEM chain)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "HTTPS key file (PEM)")
	fs.Func("tls-domains", "domains for automatic HTTPS certificates (comma-separated)", list(&c.TLSDomains))
	fs.StringVar(&c.TLSCacheDir, "tls-cache-dir", c.TLSCacheDir, "where automatic certificates are kept")
	fs.BoolVar(&c.TLSRedirect, "tls-redirect", c.TLSRedirect, "redirect http to https while https is on")
	fs.IntVar(&c.RTCPort, "rtc-port", c.RTCPort, "UDP port for WebRTC")
	fs.StringVar(&c.NodeIP, "node-ip", c.NodeIP, "IP announced in ICE candidates")
	fs.StringVar(&c.RTMP, "rtmp", c.RTMP, "RTMP listen address (mini-program bridge)")
	fs.DurationVar(&c.RTMPPushGrace, "rtmp-push-grace", c.RTMPPushGrace, "how long a pusher's member and tracks wait for it to reconnect (0: off)")
	fs.StringVar(&c.Secret, "secret", c.Secret, "token secret")
	fs.BoolVar(&c.OpenLogin, "open-login", c.OpenLogin, "anyone may get tokens")
	fs.IntVar(&c.RoomCapacity, "room-capacity", c.RoomCapacity, "members per room")
	fs.DurationVar(&c.MemberTimeout, "member-timeout", c.MemberTimeout, "drop silent members after")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level")
	fs.StringVar(&c.TURN, "turn", c.TURN, "TURN listen address (UDP and TCP)")
	fs.StringVar(&c.TURNTLS, "turn-tls", c.TURNTLS, "TURN over TLS listen address")
	fs.StringVar(&c.TURNCert, "turn-cert", c.TURNCert, "TURN TLS certificate file")
	fs.StringVar(&c.TURNKey, "turn-key", c.TURNKey, "TURN TLS key file")
	fs.StringVar(&c.TURNHost, "turn-host", c.TURNHost, "host in the TURN URLs handed to clients")
	fs.StringVar(&c.TURNRelayPorts, "turn-relay-ports", c.TURNRelayPorts, "TURN relay port range min-max")
	fs.Func("turn-allow", "CIDRs relays may reach although private (comma-separated)", list(&c.TURNAllow))
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	fs.BoolVar(&c.Production, "production", c.Production, "refuse dev-mode shortcuts (open login, random secret)")
	fs.StringVar(&c.AdminToken, "admin-token", c.AdminToken, "token for /admin")
	fs.DurationVar(&c.Drain, "drain", c.Drain, "how long shutdown waits for members to leave")
	fs.StringVar(&c.RecordDir, "record-dir", c.RecordDir, "where room recordings go (empty: recording off)")
	fs.BoolVar(&c.AutoRecord, "auto-record", c.AutoRecord, "record every room from its start")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "cluster mode: the Redis nodes share rooms through")
	fs.StringVar(&c.NodeID, "node-id", c.NodeID, "this node's name in the cluster")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "this node's own base URL")
	fs.IntVar(&c.NodeCapacity, "node-capacity", c.NodeCapacity, "members this node hosts before its rooms span nodes (0: no limit)")
	return fs
}

// withFileLine adds where a bad setting is written, when it comes from the file.
func withFileLine(err error, file string) error {
	if file == "" {
		return err
	}
	data, rerr := os.ReadFile(file)
	if rerr != nil {
		return err
	}
	rest := strings.TrimPrefix(err.Error(), config.ErrInvalid.Error()+": ")
	key, _, _ := strings.Cut(rest, " ")
	key = strings.TrimSuffix(key, ":")
	if n := config.LineOf(data, key); n > 0 {
		return fmt.Errorf("%w (%s line %d)", err, file, n)
	}
	return err
}

// splitComma splits a comma-separated flag value, dropping blanks.
func splitComma(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
