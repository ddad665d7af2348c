package sfu

import (
	"testing"
	"time"
)

// TestResumeGate: after a shed, resumeStart down tracks may resume per
// interval; the share doubles after an interval that used it while the
// server kept up, halves after one in which it was behind, and a new shed
// starts over.
func TestResumeGate(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var g resumeGate
	at := int64(time.Hour)
	// interval tries n resumes in one interval (the server behind by behind),
	// then moves on to the next interval.
	interval := func(n int, behind time.Duration) (granted int) {
		for range n {
			if g.admit(at, behind) {
				granted++
			}
		}
		at += int64(resumeInterval)
		return granted
	}
	for _, tc := range []struct {
		name   string
		shed   bool // a down track is shed before the interval
		tries  int
		behind time.Duration
		want   int
	}{
		{"first interval", true, 1000, 0, resumeStart},
		{"doubles", false, 1000, 0, 2 * resumeStart},
		{"doubles again", false, 1000, ms(10), 4 * resumeStart},
		{"behind: none", false, 1000, ms(150), 0}, // its share was 8x
		{"after the lag: half", false, 1000, 0, 4 * resumeStart},
		{"a share not used", false, 3, 0, 3}, // its share was 8x
		{"does not grow", false, 1000, 0, 8 * resumeStart},
		{"grows", false, 1000, 0, 16 * resumeStart},
		{"a shed starts over", true, 1000, 0, resumeStart},
		{"behind at the start: none", false, 1000, ms(300), 0},
		{"never under the start", false, 1000, 0, resumeStart},
	} {
		if tc.shed {
			g.shed()
		}
		if got := interval(tc.tries, tc.behind); got != tc.want {
			t.Errorf("%s: %d of %d resumed; want %d", tc.name, got, tc.tries, tc.want)
		}
	}
}
