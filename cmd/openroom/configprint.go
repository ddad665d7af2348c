package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/openroom/openroom/config"
)

// runConfigPrint shows the configuration the server would run with: defaults,
// file, environment and flags applied. Secrets are masked unless asked for.
func runConfigPrint(args []string, stdout, stderr io.Writer, env environ) int {
	show := false
	rest := args[:0:0]
	for _, a := range args {
		if a == "--show-secrets" || a == "-show-secrets" {
			show = true
			continue
		}
		rest = append(rest, a)
	}
	cfg, err := loadConfig(rest, stderr, env)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "openroom: %v\n", err)
		return 2
	}
	for _, w := range config.UnknownEnv(env) {
		fmt.Fprintf(stderr, "openroom: warning: %s\n", w)
	}
	if !show {
		for _, s := range []*string{&cfg.Secret, &cfg.AdminToken} {
			if *s != "" {
				*s = "********"
			}
		}
		cfg.RedisURL = config.RedactURL(cfg.RedisURL)
	}
	fmt.Fprintln(stdout, "# effective openroom configuration (defaults < file < OPENROOM_* env < flags)")
	enc := yaml.NewEncoder(stdout)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		fmt.Fprintf(stderr, "openroom: %v\n", err)
		return 1
	}
	return 0
}
