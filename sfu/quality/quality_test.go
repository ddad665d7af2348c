package quality

import (
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
)

func near(got, want float64) bool { return math.Abs(got-want) < 0.01 }

func TestScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    Stats
		want float64
	}{
		{"nothing known", Stats{}, 100},
		{"LAN", Stats{RTTMs: 2, JitterMs: 1}, 99.925},
		// d = 100 + 40 = 140 ms: 140/40.
		{"good home link", Stats{RTTMs: 200, JitterMs: 20}, 96.5},
		// The knee: d = 160 ms costs 4 either way.
		{"160 ms one-way", Stats{RTTMs: 320}, 96},
		{"just past the knee", Stats{RTTMs: 340}, 95},
		{"320 ms one-way: edge of excellent", Stats{RTTMs: 640}, 80},
		{"620 ms one-way: edge of good", Stats{RTTMs: 1000, JitterMs: 60}, 50},
		{"satellite", Stats{RTTMs: 1200, JitterMs: 100}, 32},
		{"1 % loss", Stats{PacketLoss: 0.01}, 100 - 95.0/11},
		{"2.67 % loss: edge of excellent", Stats{PacketLoss: 0.08 / 3}, 80},
		{"5 % loss", Stats{PacketLoss: 0.05}, 100 - 95.0*5/15},
		{"11.1 % loss: edge of good", Stats{PacketLoss: 1.0 / 9}, 50},
		{"all lost", Stats{PacketLoss: 1}, 100 - 95.0*100/110},
		{"loss over 1 is 1", Stats{PacketLoss: 3}, 100 - 95.0*100/110},
		{"loss and delay add", Stats{PacketLoss: 0.01, RTTMs: 200, JitterMs: 20}, 100 - 95.0/11 - 3.5},
		{"bitrate at target", Stats{Bitrate: 1e6, TargetBitrate: 1e6}, 100},
		{"bitrate over target", Stats{Bitrate: 3e6, TargetBitrate: 1e6}, 100},
		{"half the target", Stats{Bitrate: 5e5, TargetBitrate: 1e6}, 80},
		{"a quarter", Stats{Bitrate: 2.5e5, TargetBitrate: 1e6}, 60},
		{"an eighth", Stats{Bitrate: 1.25e5, TargetBitrate: 1e6}, 40},
		{"nothing flowing", Stats{TargetBitrate: 1e6}, 0},
		{"a trickle", Stats{Bitrate: 1, TargetBitrate: 1e6}, 0},
		{"no target: bitrate ignored", Stats{Bitrate: 1}, 100},
		{"the lower of network and bitrate: network",
			Stats{PacketLoss: 0.05, Bitrate: 5e5, TargetBitrate: 1e6}, 100 - 95.0*5/15},
		{"the lower of network and bitrate: bitrate",
			Stats{PacketLoss: 0.01, Bitrate: 2.5e5, TargetBitrate: 1e6}, 60},
		{"silent up to LostAfter", Stats{LastPacketAge: LostAfter}, 100},
		{"silent past LostAfter", Stats{LastPacketAge: LostAfter + time.Millisecond}, 0},
		{"negative values are unknown", Stats{PacketLoss: -1, JitterMs: -5, RTTMs: -10,
			Bitrate: -1, TargetBitrate: -1, LastPacketAge: -time.Second}, 100},
		{"NaN is unknown", Stats{PacketLoss: math.NaN(), JitterMs: math.NaN(), RTTMs: math.NaN(),
			Bitrate: math.NaN(), TargetBitrate: math.NaN()}, 100},
		{"infinite RTT", Stats{RTTMs: math.Inf(1)}, 0},
		{"infinite bitrate and target", Stats{Bitrate: math.Inf(1), TargetBitrate: math.Inf(1)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Score(tc.s); !near(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    Stats
		want Quality
	}{
		{"perfect", Stats{}, Excellent},
		{"typical Wi-Fi", Stats{PacketLoss: 0.005, JitterMs: 15, RTTMs: 60}, Excellent},
		{"4G, 2 % loss", Stats{PacketLoss: 0.02, JitterMs: 30, RTTMs: 120}, Excellent},
		{"4G, 3 % loss", Stats{PacketLoss: 0.03, JitterMs: 30, RTTMs: 120}, Good},
		{"3 % loss", Stats{PacketLoss: 0.03}, Good},
		{"10 % loss", Stats{PacketLoss: 0.10}, Good},
		{"15 % loss", Stats{PacketLoss: 0.15}, Poor},
		{"RTT 1.5 s", Stats{RTTMs: 1500}, Poor},
		{"one simulcast layer down", Stats{Bitrate: 3e5, TargetBitrate: 1.2e6}, Good},
		{"two layers down", Stats{Bitrate: 1e5, TargetBitrate: 1.2e6}, Poor},
		{"nothing heard for 9 s", Stats{LastPacketAge: 9 * time.Second}, Lost},
		{"nothing heard for 9 s, good numbers from before", Stats{RTTMs: 20,
			Bitrate: 1e6, TargetBitrate: 1e6, LastPacketAge: 9 * time.Second}, Lost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, score := Evaluate(tc.s)
			if got != tc.want {
				t.Errorf("got %v (score %.1f); want %v", got, score, tc.want)
			}
			if want := Score(tc.s); score != want {
				t.Errorf("score: got %v; want %v", score, want)
			}
		})
	}
}

func TestFromScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		score float64
		want  Quality
	}{
		{100, Excellent},
		{80, Excellent},
		{79.99, Good},
		{50, Good},
		{49.99, Poor},
		{0, Poor},
	}
	for _, tc := range tests {
		t.Run(strconv.FormatFloat(tc.score, 'f', -1, 64), func(t *testing.T) {
			t.Parallel()
			if got := FromScore(tc.score); got != tc.want {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestRank(t *testing.T) {
	t.Parallel()
	tests := []struct {
		q    Quality
		want int
	}{
		{Excellent, 4},
		{Good, 3},
		{Poor, 2},
		{Lost, 1},
		{"", 0},
		{"great", 0},
	}
	for _, tc := range tests {
		t.Run(string(tc.q), func(t *testing.T) {
			t.Parallel()
			if got := tc.q.Rank(); got != tc.want {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

// Windows by rating, for the Tracker tests.
var (
	excellent = Stats{RTTMs: 40}
	good      = Stats{PacketLoss: 0.05}
	poor      = Stats{PacketLoss: 0.3}
	lost      = Stats{LastPacketAge: time.Minute}
)

func TestTracker(t *testing.T) {
	t.Parallel()
	type window struct {
		s       Stats
		want    Quality
		changed bool
	}
	tests := []struct {
		name    string
		windows []window
	}{
		{"first window sets the rating", []window{
			{poor, Poor, true},
		}},
		{"first window, excellent", []window{
			{excellent, Excellent, true},
			{excellent, Excellent, false},
		}},
		{"drops at once", []window{
			{excellent, Excellent, true},
			{poor, Poor, true},
		}},
		{"drops a step at a time as it comes", []window{
			{excellent, Excellent, true},
			{good, Good, true},
			{poor, Poor, true},
			{lost, Lost, true},
		}},
		{"rises after two better windows", []window{
			{poor, Poor, true},
			{excellent, Poor, false},
			{excellent, Excellent, true},
		}},
		{"rises to the worse of the two", []window{
			{poor, Poor, true},
			{excellent, Poor, false},
			{good, Good, true},
			{excellent, Good, false},
			{excellent, Excellent, true},
		}},
		{"one good window in a bad patch does nothing", []window{
			{poor, Poor, true},
			{excellent, Poor, false},
			{poor, Poor, false},
			{excellent, Poor, false},
			{poor, Poor, false},
		}},
		{"a window at the same rating ends the streak", []window{
			{good, Good, true},
			{excellent, Good, false},
			{good, Good, false},
			{excellent, Good, false},
			{excellent, Excellent, true},
		}},
		{"a drop during a streak is immediate and restarts it", []window{
			{good, Good, true},
			{excellent, Good, false},
			{poor, Poor, true},
			{excellent, Poor, false},
			{excellent, Excellent, true},
		}},
		{"back from lost after two windows", []window{
			{excellent, Excellent, true},
			{lost, Lost, true},
			{excellent, Lost, false},
			{excellent, Excellent, true},
		}},
		{"flapping link stays down", []window{
			{excellent, Excellent, true},
			{lost, Lost, true},
			{excellent, Lost, false},
			{lost, Lost, false},
			{good, Lost, false},
			{lost, Lost, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tr Tracker
			if got := tr.Quality(); got != "" {
				t.Fatalf("before: got %q; want \"\"", got)
			}
			for i, w := range tc.windows {
				got, changed := tr.Update(w.s)
				if got != w.want || changed != w.changed {
					t.Fatalf("window %d: got %v, %v; want %v, %v", i+1, got, changed, w.want, w.changed)
				}
				if q := tr.Quality(); q != got {
					t.Errorf("window %d: Quality() got %v; want %v", i+1, q, got)
				}
				if s, want := tr.Score(), Score(w.s); s != want {
					t.Errorf("window %d: Score() got %v; want %v", i+1, s, want)
				}
			}
		})
	}
}

func TestTrackerConcurrent(t *testing.T) {
	t.Parallel()
	var tr Tracker
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 500 {
				if (i+j)%3 == 0 {
					tr.Update(poor)
				} else {
					tr.Update(excellent)
				}
				_ = tr.Quality()
				_ = tr.Score()
			}
		})
	}
	wg.Wait()
	if got := tr.Quality(); got != Poor && got != Excellent {
		t.Errorf("got %v; want poor or excellent", got)
	}
}
