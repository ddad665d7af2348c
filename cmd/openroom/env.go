package main

import (
	"log/slog"
	"strings"

	"github.com/openroom/openroom/config"
)

// environ is the process environment as os.Environ gives it ("NAME=value"):
// a lookup for the settings, and the names to check for typos.
type environ []string

// lookup is os.LookupEnv over e; the first of duplicate names wins, as in os.
func (e environ) lookup(name string) (string, bool) {
	for _, kv := range e {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// warnUnknownEnv warns once per OPENROOM_* variable that is no setting, naming
// the nearest one: a mistyped variable is otherwise silently ignored.
func warnUnknownEnv(log *slog.Logger, env environ) {
	for _, w := range config.UnknownEnv(env) {
		log.Warn(w)
	}
}
