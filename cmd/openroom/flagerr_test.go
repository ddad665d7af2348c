package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBadFlagIsOneLine: a mistaken flag gets one line naming it, the nearest
// flag and where the flags are listed, and exit status 2; not the usage.
func TestBadFlagIsOneLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "alias", args: []string{"--port", "9000"}, want: "openroom: unknown flag --port (did you mean --http? see openroom --help)\n"},
		{name: "typo", args: []string{"--rtc-prot", "1"}, want: "openroom: unknown flag --rtc-prot (did you mean --rtc-port? see openroom --help)\n"},
		{name: "single dash", args: []string{"-secert", "x"}, want: "openroom: unknown flag --secert (did you mean --secret? see openroom --help)\n"},
		{name: "nothing near", args: []string{"--bandwidth", "1"}, want: "openroom: unknown flag --bandwidth (see openroom --help for the flags)\n"},
		{name: "bad number", args: []string{"--rtc-port", "abc"}, want: "openroom: --rtc-port abc: want a whole number (see openroom --help)\n"},
		{name: "number out of range", args: []string{"--room-capacity", "99999999999999999999"},
			want: "openroom: --room-capacity 99999999999999999999: out of range (see openroom --help)\n"},
		{name: "bad duration", args: []string{"--drain", "soon"}, want: "openroom: --drain soon: want a duration like 20s or 1h (see openroom --help)\n"},
		{name: "bad boolean", args: []string{"--open-login=maybe"}, want: "openroom: --open-login=maybe: want true or false (see openroom --help)\n"},
		{name: "no value", args: []string{"--rtc-port"}, want: "openroom: --rtc-port needs a value (see openroom --help)\n"},
		{name: "config print", args: []string{"config", "print", "--htp", ":1"}, want: "openroom: unknown flag --htp (did you mean --http? see openroom --help)\n"},
		{name: "token", args: []string{"token", "--usr", "bob"}, want: "openroom token: unknown flag --usr (did you mean --user? see openroom token --help)\n"},
		{name: "token bad ttl", args: []string{"token", "--user", "bob", "--ttl", "1x"},
			want: "openroom token: --ttl 1x: want a duration like 20s or 1h (see openroom token --help)\n"},
		{name: "load", args: []string{"load", "--subscriber", "3"},
			want: "openroom load: unknown flag --subscriber (did you mean --subscribers? see openroom load --help)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr, fakeEnv(nil))
			if code != 2 {
				t.Errorf("exit code: got %v; want %v", code, 2)
			}
			if got := stderr.String(); got != tc.want {
				t.Errorf("stderr: got %q; want %q", got, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: got %q; want nothing", stdout.String())
			}
		})
	}
}

// TestHelpIsTheWholeUsage: -h and --help still print every flag, with status 0.
func TestHelpIsTheWholeUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stdout bool     // the usage goes to stdout, else stderr
		want   []string // in the usage
	}{
		{name: "--help", args: []string{"--help"}, stdout: true, want: []string{"Usage:", "--rtc-port N", "--turn-allow"}},
		{name: "-h after a flag", args: []string{"--rtc-port", "0", "-h"}, want: []string{"Usage:", "--rtc-port N", "--turn-allow"}},
		{name: "config print", args: []string{"config", "print", "--help"}, want: []string{"Usage:", "--rtc-port N"}},
		{name: "token", args: []string{"token", "--help"}, want: []string{"Usage of openroom token:", "-user string", "-ttl duration"}},
		{name: "load", args: []string{"load", "-h"}, want: []string{"openroom load: the capacity tool", "-subscribers"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr, fakeEnv(nil)); code != 0 {
				t.Errorf("exit code: got %v; want %v (stderr %q)", code, 0, stderr.String())
			}
			usage, other := stderr.String(), stdout.String()
			if tc.stdout {
				usage, other = other, usage
			}
			for _, w := range tc.want {
				if !strings.Contains(usage, w) {
					t.Errorf("usage: got %q; want it to contain %q", usage, w)
				}
			}
			if other != "" {
				t.Errorf("other stream: got %q; want nothing", other)
			}
		})
	}
}
