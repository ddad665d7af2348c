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
func loadConfig(args []string, stderr io.Writer, env func(string) (string, bool)) (config.Config, error) {
	cfg := config.Default()
	fs := flag.NewFlagSet("openroom", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	var (
		file     = fs.String("config", "", "YAML config file")
		httpAddr = fs.String("http", "", "HTTP listen address")
		https    = fs.String("https", "", "HTTPS listen address")
		tlsCert  = fs.String("tls-cert", "", "HTTPS certificate file (PEM chain)")
		tlsKey   = fs.String("tls-key", "", "HTTPS key file (PEM)")
		tlsDoms  = fs.String("tls-domains", "", "domains for automatic HTTPS certificates (comma-separated)")
		tlsCache = fs.String("tls-cache-dir", "", "where automatic certificates are kept")
		tlsRedir = fs.Bool("tls-redirect", true, "redirect http to https while https is on")
		rtcPort  = fs.Int("rtc-port", 0, "UDP port for WebRTC")
		nodeIP   = fs.String("node-ip", "", "IP announced in ICE candidates")
		rtmpAddr = fs.String("rtmp", "", "RTMP listen address (mini-program bridge)")
		secret   = fs.String("secret", "", "token secret")
		open     = fs.Bool("open-login", true, "anyone may get tokens")
		capacity = fs.Int("room-capacity", 0, "members per room")
		timeout  = fs.Duration("member-timeout", 0, "drop silent members after")
		logLevel = fs.String("log-level", "", "log level")
		turnAddr = fs.String("turn", "", "TURN listen address (UDP and TCP)")
		turnTLS  = fs.String("turn-tls", "", "TURN over TLS listen address")
		turnCert = fs.String("turn-cert", "", "TURN TLS certificate file")
		turnKey  = fs.String("turn-key", "", "TURN TLS key file")
		turnHost = fs.String("turn-host", "", "host in the TURN URLs handed to clients")
		turnPort = fs.String("turn-relay-ports", "", "TURN relay port range min-max")
		turnOK   = fs.String("turn-allow", "", "CIDRs relays may reach although private (comma-separated)")
		logFmt   = fs.String("log-format", "", "text or json")
		prod     = fs.Bool("production", false, "refuse dev-mode shortcuts (open login, random secret)")
		adminTok = fs.String("admin-token", "", "token for /admin")
		drain    = fs.Duration("drain", 0, "how long shutdown waits for members to leave")
	)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	if *file != "" {
		if err := cfg.LoadFile(*file); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(env); err != nil {
		return cfg, err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "http":
			cfg.HTTP = *httpAddr
		case "https":
			cfg.HTTPS = *https
		case "tls-cert":
			cfg.TLSCert = *tlsCert
		case "tls-key":
			cfg.TLSKey = *tlsKey
		case "tls-domains":
			cfg.TLSDomains = splitComma(*tlsDoms)
		case "tls-cache-dir":
			cfg.TLSCacheDir = *tlsCache
		case "tls-redirect":
			cfg.TLSRedirect = *tlsRedir
		case "rtc-port":
			cfg.RTCPort = *rtcPort
		case "rtmp":
			cfg.RTMP = *rtmpAddr
		case "node-ip":
			cfg.NodeIP = *nodeIP
		case "secret":
			cfg.Secret = *secret
		case "open-login":
			cfg.OpenLogin = *open
		case "room-capacity":
			cfg.RoomCapacity = *capacity
		case "member-timeout":
			cfg.MemberTimeout = *timeout
		case "log-format":
			cfg.LogFormat = *logFmt
		case "production":
			cfg.Production = *prod
			if *prod && !setOpenLogin(fs) {
				cfg.OpenLogin = false // production implies closed login unless said otherwise
			}
		case "admin-token":
			cfg.AdminToken = *adminTok
		case "drain":
			cfg.Drain = *drain
		case "log-level":
			cfg.LogLevel = *logLevel
		case "turn":
			cfg.TURN = *turnAddr
		case "turn-tls":
			cfg.TURNTLS = *turnTLS
		case "turn-cert":
			cfg.TURNCert = *turnCert
		case "turn-key":
			cfg.TURNKey = *turnKey
		case "turn-host":
			cfg.TURNHost = *turnHost
		case "turn-relay-ports":
			cfg.TURNRelayPorts = *turnPort
		case "turn-allow":
			cfg.TURNAllow = splitComma(*turnOK)
		}
	})
	if err := cfg.Validate(); err != nil {
		return cfg, withFileLine(err, *file)
	}
	return cfg, nil
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

func setOpenLogin(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "open-login" })
	return set
}
