package main

import (
	"flag"
	"fmt"
	"io"

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
		case "log-level":
			cfg.LogLevel = *logLevel
		}
	})
	return cfg, cfg.Validate()
}
