package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/openroom/openroom/config"
)

// serverFlagAliases maps flags other servers have to openroom's, for the hint
// on an unknown flag (the edit distance would not find them).
var serverFlagAliases = map[string]string{
	"port": "http", "listen": "http", "addr": "http", "bind": "http",
	"tls": "https", "ssl": "https", "cert": "tls-cert", "key": "tls-key",
	"ip": "node-ip", "public-ip": "node-ip", "external-ip": "node-ip",
	"udp-port": "rtc-port", "webrtc-port": "rtc-port",
	"verbose": "log-level", "debug": "log-level", "v": "log-level",
}

// The flag package's errors are plain text; these are its wordings (Go 1.26).
var (
	flagUnknownRE  = regexp.MustCompile(`^flag provided but not defined: -(.+)$`)
	flagBadValueRE = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-([^:]+): (.*)$`)
	flagNoValueRE  = regexp.MustCompile(`^flag needs an argument: -(.+)$`)
)

// parseFlags parses args with fs, keeping a mistake to one line: fs prints
// nothing itself and the error names the bad flag, the nearest defined one
// (or aliases') and where the flags are listed. For -h and --help it prints
// fs's whole usage and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, aliases map[string]string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		if usage != nil {
			usage()
		} else {
			fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
			fs.PrintDefaults()
		}
		return err
	}
	return flagError(fs, err, aliases)
}

// flagError rewrites one of the flag package's parse errors.
func flagError(fs *flag.FlagSet, err error, aliases map[string]string) error {
	see := "see " + fs.Name() + " --help"
	msg := err.Error()
	if m := flagUnknownRE.FindStringSubmatch(msg); m != nil {
		near := aliases[m[1]]
		if near == "" {
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
			near = config.Nearest(m[1], names)
		}
		if near != "" {
			return fmt.Errorf("unknown flag --%s (did you mean --%s? %s)", m[1], near, see)
		}
		return fmt.Errorf("unknown flag --%s (%s for the flags)", m[1], see)
	}
	if m := flagBadValueRE.FindStringSubmatch(msg); m != nil {
		value, name, why := m[1], m[2], m[3]
		if f := fs.Lookup(name); f != nil {
			why = wantFor(f, why)
		}
		sep := " "
		if isBoolFlag(fs, name) {
			sep = "=" // how a boolean's value must be written
		}
		return fmt.Errorf("--%s%s%s: %s (%s)", name, sep, value, why, see)
	}
	if m := flagNoValueRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("--%s needs a value (%s)", m[1], see)
	}
	return fmt.Errorf("%s (%s)", msg, see)
}

// wantFor says what f takes, in place of the flag package's "parse error".
func wantFor(f *flag.Flag, why string) string {
	if why == "value out of range" {
		return "out of range"
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return why // a Func flag's own error
	}
	switch g.Get().(type) {
	case int, int64, uint, uint64:
		return "want a whole number"
	case float64:
		return "want a number"
	case bool:
		return "want true or false"
	case time.Duration:
		return "want a duration like 20s or 1h"
	}
	return why
}

func isBoolFlag(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
