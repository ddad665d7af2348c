package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// EnvPrefix starts every environment variable LoadEnv reads.
const EnvPrefix = "OPENROOM_"

// notSettings are OPENROOM_* variables that are not settings but belong to the
// test and build scripts, so a server started by them must not warn about them.
// A trailing "*" matches any rest.
var notSettings = []string{
	// scripts/netns-run.sh
	"OPENROOM_NETNS", "OPENROOM_TEST_IP", "OPENROOM_TEST_IP2",
	// scripts/test.sh and scripts/fuzz.sh
	"OPENROOM_SKIP_*", "OPENROOM_GO_TEST_ARGS", "OPENROOM_FUZZ*",
	// e2e/harness.mjs and scripts/chromium-in-netns.sh
	"OPENROOM_E2E_*", "OPENROOM_BIN", "OPENROOM_CHROMIUM*",
	// sfu tests
	"OPENROOM_SHAPED_DEBUG",
}

// EnvNames lists every environment variable LoadEnv reads, sorted.
func EnvNames() []string {
	names, _ := envFields(&Config{})
	return names
}

// UnknownEnv returns one warning for each OPENROOM_* variable in environ
// (os.Environ's "NAME=value" form) that LoadEnv ignores, naming the nearest
// variable it reads, in name order. The known names come from envFields, as
// LoadEnv's do, so the check cannot drift from the parsing.
func UnknownEnv(environ []string) []string {
	known := EnvNames()
	fileOnly := map[string]string{} // variable -> key settable only in the file
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		key := t.Field(i).Tag.Get("yaml")
		if name := EnvPrefix + strings.ToUpper(key); !slices.Contains(known, name) {
			fileOnly[name] = key
		}
	}
	bare := make([]string, len(known))
	for i, k := range known {
		bare[i] = strings.TrimPrefix(k, EnvPrefix)
	}
	var names []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix) && !slices.Contains(known, name) && !notSetting(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names) // the same order every run
	var warnings []string
	for _, name := range slices.Compact(names) {
		if key, ok := fileOnly[name]; ok {
			warnings = append(warnings, fmt.Sprintf("environment variable %s ignored: %s can only be set in the config file", name, key))
			continue
		}
		if near := Nearest(strings.TrimPrefix(name, EnvPrefix), bare); near != "" {
			warnings = append(warnings, fmt.Sprintf("unknown environment variable %s ignored; did you mean %s%s?", name, EnvPrefix, near))
			continue
		}
		warnings = append(warnings, fmt.Sprintf("unknown environment variable %s ignored; settings are %s and a config key in capitals (openroom.example.yaml lists the keys)", name, EnvPrefix))
	}
	return warnings
}

func notSetting(name string) bool {
	for _, p := range notSettings {
		if rest, wild := strings.CutSuffix(p, "*"); name == p || wild && strings.HasPrefix(name, rest) {
			return true
		}
	}
	return false
}
