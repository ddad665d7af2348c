package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestUnknownEnv(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{
			name:    "typo names the nearest variable",
			environ: []string{"OPENROOM_ROOM_CAPACTY=4"},
			want:    []string{"unknown environment variable OPENROOM_ROOM_CAPACTY ignored; did you mean OPENROOM_ROOM_CAPACITY?"},
		},
		{
			name:    "words in another order are too far",
			environ: []string{"OPENROOM_CAPACITY_ROOM=4"},
			want: []string{"unknown environment variable OPENROOM_CAPACITY_ROOM ignored; settings are OPENROOM_ and a config key" +
				" in capitals (openroom.example.yaml lists the keys)"},
		},
		{
			name:    "a key only the file sets",
			environ: []string{"OPENROOM_ICE_SERVERS=stun:x"},
			want:    []string{"environment variable OPENROOM_ICE_SERVERS ignored: ice_servers can only be set in the config file"},
		},
		{
			name: "settings, other variables and the scripts' own are quiet",
			environ: []string{"OPENROOM_ROOM_CAPACITY=4", "OPENROOM_LOG_LEVEL=debug", "PATH=/bin", "OPENROOM_TEST_IP=10.99.0.1",
				"OPENROOM_TEST_IP2=10.99.0.2", "OPENROOM_NETNS=1", "OPENROOM_SKIP_E2E=1", "OPENROOM_E2E_VERBOSE=1",
				"OPENROOM_FUZZTIME=5s", "OPENROOM_CHROMIUM_BIN=/x", "OPENROOM_BIN=/x", "OPENROOM_GO_TEST_ARGS=-v"},
		},
		{
			name:    "once per variable",
			environ: []string{"OPENROOM_SECRT=a", "OPENROOM_SECRT=b"},
			want:    []string{"unknown environment variable OPENROOM_SECRT ignored; did you mean OPENROOM_SECRET?"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnknownEnv(tc.environ); !slices.Equal(got, tc.want) {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// TestEnvNamesAreWhatLoadEnvReads: every listed name sets its field, so the
// list the typo check uses cannot drift from the parsing.
func TestEnvNamesAreWhatLoadEnvReads(t *testing.T) {
	names := EnvNames()
	if len(names) < 40 || !slices.IsSorted(names) {
		t.Fatalf("EnvNames: got %d names, sorted %v; want every setting, sorted", len(names), slices.IsSorted(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c := Default()
			err := c.LoadEnv(fakeEnv(map[string]string{name: "not a value of any kind"}))
			before := Default()
			// Strings take the text; the others refuse it, naming the variable.
			if err == nil && reflect.DeepEqual(c, before) {
				t.Errorf("LoadEnv with %s set: got no change and no error; want it read", name)
			}
			if err != nil && !strings.Contains(err.Error(), name) {
				t.Errorf("LoadEnv error: got %v; want it to name %s", err, name)
			}
		})
	}
}
