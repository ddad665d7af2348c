package config

import "testing"

func TestNearest(t *testing.T) {
	flags := []string{"http", "https", "rtc-port", "room-capacity", "member-timeout", "log-level", "tls-cert", "turn-cert", "secret"}
	tests := []struct {
		name  string
		typed string
		want  string
	}{
		{name: "one letter left out", typed: "htp", want: "http"},
		{name: "neighbours swapped", typed: "rtc-prot", want: "rtc-port"},
		{name: "swap in a word", typed: "secert", want: "secret"},
		{name: "underscore for dash", typed: "room_capacity", want: "room-capacity"},
		{name: "case ignored", typed: "LOG-LEVEL", want: "log-level"},
		{name: "dash left out", typed: "loglevel", want: "log-level"},
		{name: "a whole word of one name", typed: "capacity", want: "room-capacity"},
		{name: "a word of two names: no guess", typed: "cert", want: ""},
		{name: "too far", typed: "bandwidth", want: ""},
		{name: "empty", typed: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Nearest(tc.typed, flags); got != tc.want {
				t.Errorf("Nearest(%q): got %q; want %q", tc.typed, got, tc.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"capacty", "capacity", 1},
		{"prot", "port", 1},
		{"kitten", "sitting", 3},
	}
	for _, tc := range tests {
		t.Run(tc.a+"-"+tc.b, func(t *testing.T) {
			if got := editDistance(tc.a, tc.b); got != tc.want {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}
