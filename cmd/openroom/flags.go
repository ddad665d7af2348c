package main

import (
	"flag"
	"fmt"
	"io"
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
			cfg.TURNAllow = nil
			for _, s := range strings.Split(*turnOK, ",") {
				if s = strings.TrimSpace(s); s != "" {
					cfg.TURNAllow = append(cfg.TURNAllow, s)
				}
			}
		}
	})
	return cfg, cfg.Validate()
}

func setOpenLogin(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "open-login" })
	return set
}
