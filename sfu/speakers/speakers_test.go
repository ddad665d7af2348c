package speakers

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const tick = 100 * time.Millisecond

// room drives a Detector on a fake clock: each step feeds 100 ms of audio and ticks.
type room struct {
	t   *testing.T
	d   *Detector
	now time.Time
}

// newRoom returns a Detector with cfg whose clock has started (the first Tick is done).
func newRoom(t *testing.T, cfg Config, users ...string) *room {
	t.Helper()
	r := &room{t: t, d: New(cfg), now: t0}
	for _, u := range users {
		r.d.Add(u)
	}
	if list, changed := r.d.Tick(r.now); list != nil || changed {
		t.Fatalf("first Tick: got %v, %v; want nil, false", list, changed)
	}
	return r
}

// feed observes n packets at level from user, spread over the next 100 ms.
func (r *room) feed(user string, level uint8, voice bool, n int) {
	r.t.Helper()
	s := r.d.Add(user)
	for i := range n {
		s.Observe(level, voice, r.now.Add(time.Duration(i)*tick/time.Duration(n)))
	}
}

// step feeds 100 ms of 20 ms packets at each user's level (users not in levels send
// nothing), then ticks.
func (r *room) step(levels map[string]uint8) ([]Speaker, bool) {
	r.t.Helper()
	for u, l := range levels {
		r.feed(u, l, true, 5)
	}
	r.now = r.now.Add(tick)
	return r.d.Tick(r.now)
}

// steps runs step n times with the same levels and returns the last result.
func (r *room) steps(n int, levels map[string]uint8) (list []Speaker, changed bool) {
	r.t.Helper()
	for range n {
		list, changed = r.step(levels)
	}
	return list, changed
}

func ids(list []Speaker) []string {
	out := []string{}
	for _, s := range list {
		out = append(out, s.UserID)
	}
	return out
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-3*math.Max(math.Abs(want), 1e-6)
}

func TestLevelToAmplitude(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level uint8
		want  float64
	}{
		{0, 1},
		{6, 0.501187},
		{20, 0.1},
		{35, 0.0177828},
		{42, 0.00794328},
		{126, 5.01187e-7},
		{127, 0},
		{200, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.level), func(t *testing.T) {
			t.Parallel()
			if got := LevelToAmplitude(tc.level); !near(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
			if tc.level < 128 {
				got, want := float64(ampTable[tc.level])/ampScale, LevelToAmplitude(tc.level)
				if math.Abs(got-want) > 1.0/ampScale {
					t.Errorf("table: got %v; want %v", got, want)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	want := Config{Window: DefaultWindow, SpeakLevel: DefaultSpeakLevel, MinActive: DefaultMinActive,
		QuietLevel: DefaultQuietLevel, Hold: DefaultHold, MinReportInterval: DefaultMinReportInterval,
		StepDB: DefaultStepDB}
	tests := []struct {
		name string
		cfg  Config
		want Config
	}{
		{"zero", Config{}, want},
		{"out of range levels", Config{SpeakLevel: 128, QuietLevel: 200}, want},
		{"quiet louder than speak", Config{SpeakLevel: 40, QuietLevel: 30},
			func() Config { c := want; c.SpeakLevel, c.QuietLevel = 40, 40; return c }()},
		{"negative hold is none", Config{Hold: -1},
			func() Config { c := want; c.Hold = 0; return c }()},
		{"negative minimum activity is none", Config{MinActive: -1},
			func() Config { c := want; c.MinActive = 0; return c }()},
		{"kept", Config{Window: time.Second, SpeakLevel: 30, MinActive: time.Second, QuietLevel: 50,
			Hold: time.Second, MinReportInterval: time.Second, StepDB: 3},
			Config{time.Second, 30, time.Second, 50, time.Second, time.Second, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.cfg.withDefaults(); got != tc.want {
				t.Errorf("got %+v; want %+v", got, tc.want)
			}
		})
	}
}

// TestWhoSpeaks runs steady audio for 1 s and checks the list and levels.
func TestWhoSpeaks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		levels map[string]uint8
		want   []Speaker
	}{
		{"nobody", nil, nil},
		{"silence", map[string]uint8{"a": 127}, nil},
		{"room noise at -50 dBov", map[string]uint8{"a": 50}, nil},
		{"just under the speak level", map[string]uint8{"a": 36}, nil},
		{"at the speak level", map[string]uint8{"a": 35}, []Speaker{{"a", 0.0177828}}},
		{"speech at -20 dBov", map[string]uint8{"a": 20}, []Speaker{{"a", 0.1}}},
		{"full scale", map[string]uint8{"a": 0}, []Speaker{{"a", 1}}},
		{"only the 7 level bits count", map[string]uint8{"a": 128 + 20}, []Speaker{{"a", 0.1}}},
		{"loudest first", map[string]uint8{"a": 30, "b": 10, "c": 20, "d": 60},
			[]Speaker{{"b", 0.316228}, {"c", 0.1}, {"a", 0.0316228}}},
		{"same step, same level: by user ID", map[string]uint8{"b": 20, "a": 20},
			[]Speaker{{"a", 0.1}, {"b", 0.1}}},
		{"same step: louder first", map[string]uint8{"a": 23, "b": 20},
			[]Speaker{{"b", 0.1}, {"a", 0.0707946}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRoom(t, Config{})
			got, _ := r.steps(10, tc.levels)
			if !slices.Equal(ids(got), ids(tc.want)) {
				t.Fatalf("got %v; want %v", got, tc.want)
			}
			for i := range got {
				if !near(got[i].Level, tc.want[i].Level) {
					t.Errorf("%s: got level %v; want %v", got[i].UserID, got[i].Level, tc.want[i].Level)
				}
			}
		})
	}
}

// TestGapsAreSilence: time without packets (DTX, loss, a stopped track) counts as silence.
func TestGapsAreSilence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		level     uint8
		packets   int           // per 100 ms
		frame     time.Duration // 0: default 20 ms
		wantLevel float64
		wantSpeak bool
	}{
		{"all packets", 20, 5, 0, 0.1, true},
		{"two packets in five: two fifths of the amplitude", 20, 2, 0, 0.04, true},
		{"two packets in five, quieter: not enough", 30, 2, 0, 0.0126491, false},
		// Loud enough on average (-34 dBov) but only 60 ms of loud audio in 300 ms.
		{"one packet in five: too little activity", 20, 1, 0, 0.02, false},
		{"10 ms frames, twice the packets: same level", 20, 10, 10 * time.Millisecond, 0.1, true},
		{"10 ms frames counted as 20 ms: no more than the packets say", 20, 10, 0, 0.1, true},
		{"60 ms frames", 20, 2, 60 * time.Millisecond, 0.1, true},
		{"60 ms frames counted as 20 ms read low", 20, 2, 0, 0.04, true},
		{"no packets", 20, 0, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRoom(t, Config{})
			r.d.Add("a").SetFrameDuration(tc.frame)
			var got []Speaker
			for range 10 {
				r.feed("a", tc.level, true, tc.packets)
				r.now = r.now.Add(tick)
				got, _ = r.d.Tick(r.now)
			}
			if speaking := len(got) == 1; speaking != tc.wantSpeak {
				t.Fatalf("speaking: got %v; want %v (list %v)", speaking, tc.wantSpeak, got)
			}
			if s := r.d.Add("a"); !near(s.level, tc.wantLevel) {
				t.Errorf("level: got %v; want %v", s.level, tc.wantLevel)
			}
		})
	}
}

// TestActivity: a member starts speaking only with MinActive of loud audio in the window.
func TestActivity(t *testing.T) {
	t.Parallel()
	type burst struct {
		n     int // 20 ms packets in the 100 ms before the tick
		level uint8
	}
	tests := []struct {
		name   string
		cfg    Config
		ticks  []burst
		listed bool // at any tick
	}{
		// One full-scale frame reads -23.5 dBov over the window: loud, but a click.
		{"a click", Config{}, []burst{{1, 0}, {}, {}, {}}, false},
		{"two clicks 100 ms apart", Config{}, []burst{{1, 0}, {1, 0}, {}, {}}, false},
		{"80 ms", Config{}, []burst{{4, 10}, {}, {}, {}}, false},
		{"100 ms", Config{}, []burst{{5, 20}, {}, {}, {}}, true},
		{"loud frames spread over the window", Config{}, []burst{{2, 20}, {2, 20}, {2, 20}}, true},
		{"a click, no minimum", Config{MinActive: -1}, []burst{{1, 0}, {}, {}, {}}, true},
		{"80 ms, minimum 80 ms", Config{MinActive: 80 * time.Millisecond}, []burst{{4, 10}, {}}, true},
		{"frames under the speak level do not count", Config{},
			[]burst{{4, 10}, {5, 36}, {5, 36}, {5, 36}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRoom(t, tc.cfg, "a")
			listed := false
			for _, b := range tc.ticks {
				r.feed("a", b.level, true, b.n)
				r.now = r.now.Add(tick)
				got, _ := r.d.Tick(r.now)
				listed = listed || len(got) > 0
			}
			if listed != tc.listed {
				t.Errorf("got listed %v; want %v", listed, tc.listed)
			}
		})
	}
	t.Run("once speaking, sparse loud frames keep the speaker", func(t *testing.T) {
		t.Parallel()
		r := newRoom(t, Config{}, "a")
		r.steps(3, map[string]uint8{"a": 20})
		for i := range 10 {
			r.feed("a", 10, true, 1) // 0.063 per 100 ms, 60 ms of activity in the window
			r.now = r.now.Add(tick)
			if got, _ := r.d.Tick(r.now); len(got) != 1 {
				t.Fatalf("tick %d: got %v; want [a]", i+1, got)
			}
		}
	})
}

// TestVoiceFlag: V=0 counts as silence only from a client known to set V=1.
func TestVoiceFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first bool // the voice flag of an earlier burst
		then  bool // the voice flag of the loud packets
		want  []string
	}{
		{"never set: levels decide", false, false, []string{"a"}},
		{"set: voice", true, true, []string{"a"}},
		{"set once, then not voice (DTX, noise)", true, false, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRoom(t, Config{})
			r.feed("a", 127, tc.first, 1)
			var got []Speaker
			for range 5 {
				r.feed("a", 10, tc.then, 5)
				r.now = r.now.Add(tick)
				got, _ = r.d.Tick(r.now)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("got %v; want %v", ids(got), tc.want)
			}
		})
	}
}

// TestTimeline checks tick by tick when a speaker appears, holds and goes, and when changes
// are reported.
func TestTimeline(t *testing.T) {
	t.Parallel()
	type tickWant struct {
		levels  map[string]uint8 // audio in the 100 ms before the tick
		want    []string
		changed bool
	}
	loud := map[string]uint8{"a": 20}
	tests := []struct {
		name  string
		cfg   Config
		ticks []tickWant
	}{
		{
			// Window 300 ms: a 100 ms burst at -20 dBov reads -29.5 dBov: already speaking.
			name: "onset within one tick",
			ticks: []tickWant{
				{nil, []string{}, false},
				{loud, []string{"a"}, true},
				{loud, []string{"a"}, false},
			},
		},
		{
			// The level falls with the window (0.067, 0.033, 0): above -35 dBov for two
			// ticks, then silent, and the speaker stays listed for the 500 ms hold. Level
			// steps are news, but no more often than every 200 ms.
			name: "stop: window, then hold",
			ticks: []tickWant{
				{loud, []string{"a"}, true},  // 100 ms
				{loud, []string{"a"}, false}, //
				{loud, []string{"a"}, false}, //
				{nil, []string{"a"}, false},  // 400: 0.0667 = -23.5 dBov, same step
				{nil, []string{"a"}, true},   // 500: 0.0333 = -29.5 dBov, a step down
				{nil, []string{"a"}, false},  // 600: silence, hold starts; 100 ms after a report
				{nil, []string{"a"}, true},   // 700: silence reported
				{nil, []string{"a"}, false},  // 800
				{nil, []string{"a"}, false},  // 900
				{nil, []string{"a"}, false},  // 1000
				{nil, []string{}, true},      // 1100: held 500 ms, gone
				{nil, []string{}, false},     //
				{loud, []string{"a"}, true},  // back
			},
		},
		{
			name: "no hold",
			cfg:  Config{Hold: -1},
			ticks: []tickWant{
				{loud, []string{"a"}, true}, // 100 ms
				{nil, []string{"a"}, false}, // 0.05: a step down, 100 ms after a report
				{nil, []string{"a"}, true},  // 0.033: still over -35 dBov
				{nil, []string{}, false},    // silence: gone at once, 100 ms after a report
				{nil, []string{}, true},     //
				{nil, []string{}, false},    //
			},
		},
		{
			// -38 dBov: under the speak level, over the quiet one.
			name: "between the thresholds: stays, never starts",
			ticks: []tickWant{
				{map[string]uint8{"a": 38}, []string{}, false},
				{map[string]uint8{"a": 38}, []string{}, false},
				{map[string]uint8{"a": 38}, []string{}, false},
				{loud, []string{"a"}, true},                       // 0.042: -27.6 dBov
				{map[string]uint8{"a": 38}, []string{"a"}, false}, // 0.042
				{map[string]uint8{"a": 38}, []string{"a"}, false}, // 0.042
				{map[string]uint8{"a": 38}, []string{"a"}, true},  // 0.0126: -38 dBov, 2 steps down
				{map[string]uint8{"a": 38}, []string{"a"}, false},
				{map[string]uint8{"a": 38}, []string{"a"}, false},
				{map[string]uint8{"a": 38}, []string{"a"}, false},
				{map[string]uint8{"a": 38}, []string{"a"}, false},
				{map[string]uint8{"a": 38}, []string{"a"}, false},
				{map[string]uint8{"a": 38}, []string{"a"}, false},
			},
		},
		{
			// A change 100 ms after a report waits for the 200 ms minimum.
			name: "rate limit",
			ticks: []tickWant{
				{loud, []string{"a"}, true},
				{map[string]uint8{"a": 20, "b": 10}, []string{"b", "a"}, false}, // 100 ms: held back
				{map[string]uint8{"a": 20, "b": 10}, []string{"b", "a"}, true},  // 200 ms
				{map[string]uint8{"a": 20, "b": 10}, []string{"b", "a"}, false},
			},
		},
		{
			// A step up for 100 ms moves the 300 ms mean up a step for three ticks; it is
			// back before the 500 ms minimum has passed, so there is nothing to say.
			name: "a change undone before it could be reported is not reported",
			cfg:  Config{MinReportInterval: 500 * time.Millisecond},
			ticks: []tickWant{
				{loud, []string{"a"}, true},
				{map[string]uint8{"a": 8}, []string{"a"}, false},
				{loud, []string{"a"}, false},
				{loud, []string{"a"}, false},
				{loud, []string{"a"}, false},
				{loud, []string{"a"}, false},
				{loud, []string{"a"}, false},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRoom(t, tc.cfg)
			for i, w := range tc.ticks {
				got, changed := r.step(w.levels)
				if !slices.Equal(ids(got), w.want) || changed != w.changed {
					t.Fatalf("tick %d (%v): got %v, %v; want %v, %v", i+1,
						r.now.Sub(t0), ids(got), changed, w.want, w.changed)
				}
			}
		})
	}
}

// TestOrderAndSteps: order follows 6 dB steps, with the last reported place breaking ties
// inside a step, and small level changes are not news.
func TestOrderAndSteps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		before      map[string]uint8 // 1 s of this, reported
		after       map[string]uint8 // then 1 s of this
		want        []string
		wantChanged bool // was any tick of the second second changed
	}{
		{"steady: nothing to report", map[string]uint8{"a": 20}, map[string]uint8{"a": 20},
			[]string{"a"}, false},
		{"2 dB louder: same step, no news", map[string]uint8{"a": 20}, map[string]uint8{"a": 18},
			[]string{"a"}, false},
		{"2 dB quieter: inside the hysteresis", map[string]uint8{"a": 20}, map[string]uint8{"a": 22},
			[]string{"a"}, false},
		{"a step louder: news", map[string]uint8{"a": 20}, map[string]uint8{"a": 13},
			[]string{"a"}, true},
		{"a step quieter: news", map[string]uint8{"a": 20}, map[string]uint8{"a": 27},
			[]string{"a"}, true},
		{"newcomer louder in the same step waits its turn",
			map[string]uint8{"a": 23}, map[string]uint8{"a": 23, "b": 19},
			[]string{"a", "b"}, true},
		{"the first keeps its place when overtaken inside a step",
			map[string]uint8{"a": 19, "b": 22}, map[string]uint8{"a": 22, "b": 19},
			[]string{"a", "b"}, false},
		{"a step louder overtakes",
			map[string]uint8{"a": 19, "b": 22}, map[string]uint8{"a": 22, "b": 12},
			[]string{"b", "a"}, true},
		{"one goes quiet",
			map[string]uint8{"a": 19, "b": 22}, map[string]uint8{"b": 22},
			[]string{"b"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRoom(t, Config{})
			r.steps(10, tc.before)
			var got []Speaker
			anyChanged := false
			for range 10 {
				var changed bool
				got, changed = r.step(tc.after)
				anyChanged = anyChanged || changed
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("order: got %v; want %v", got, tc.want)
			}
			if anyChanged != tc.wantChanged {
				t.Errorf("changed: got %v; want %v", anyChanged, tc.wantChanged)
			}
		})
	}
}

func TestMembers(t *testing.T) {
	t.Parallel()
	t.Run("Add twice returns the same source", func(t *testing.T) {
		t.Parallel()
		d := New(Config{})
		a, b := d.Add("a"), d.Add("a")
		if a != b {
			t.Errorf("got %p and %p; want the same", a, b)
		}
		if got := a.UserID(); got != "a" {
			t.Errorf("UserID: got %v; want %v", got, "a")
		}
	})
	t.Run("two tracks of one member average", func(t *testing.T) {
		t.Parallel()
		r := newRoom(t, Config{})
		var got []Speaker
		for range 5 {
			r.feed("a", 20, true, 5)  // 0.1
			r.feed("a", 127, true, 5) // silence on the second track
			r.now = r.now.Add(tick)
			got, _ = r.d.Tick(r.now)
		}
		if len(got) != 1 || !near(got[0].Level, 0.05) {
			t.Errorf("got %v; want [{a 0.05}]", got)
		}
	})
	t.Run("Remove drops a speaker at once", func(t *testing.T) {
		t.Parallel()
		r := newRoom(t, Config{})
		r.steps(5, map[string]uint8{"a": 20, "b": 10})
		r.d.Remove("b")
		got, changed := r.step(map[string]uint8{"a": 20})
		if !slices.Equal(ids(got), []string{"a"}) || !changed {
			t.Errorf("got %v, %v; want [a], true", ids(got), changed)
		}
	})
	t.Run("a removed source's packets are ignored", func(t *testing.T) {
		t.Parallel()
		r := newRoom(t, Config{})
		s := r.d.Add("a")
		r.d.Remove("a")
		s.Observe(0, true, r.now)
		if got, _ := r.steps(3, nil); got != nil {
			t.Errorf("got %v; want nil", got)
		}
	})
	t.Run("re-added after Remove starts afresh", func(t *testing.T) {
		t.Parallel()
		r := newRoom(t, Config{})
		old := r.d.Add("a")
		r.steps(3, map[string]uint8{"a": 20})
		r.d.Remove("a")
		if s := r.d.Add("a"); s == old || s.level != 0 || len(s.hist) != 0 {
			t.Errorf("got %p level %v; want a new source", s, s.level)
		}
	})
	t.Run("Detector.Observe by ID", func(t *testing.T) {
		t.Parallel()
		r := newRoom(t, Config{}, "a")
		for range 3 {
			for i := range 5 {
				r.d.Observe("a", 20, true, r.now.Add(time.Duration(i)*20*time.Millisecond))
				r.d.Observe("stranger", 0, true, r.now)
			}
			r.now = r.now.Add(tick)
		}
		got, _ := r.d.Tick(r.now)
		if !slices.Equal(ids(got), []string{"a"}) {
			t.Errorf("got %v; want [a]", got)
		}
	})
	t.Run("LastHeard", func(t *testing.T) {
		t.Parallel()
		s := New(Config{}).Add("a")
		if got := s.LastHeard(); !got.IsZero() {
			t.Errorf("before: got %v; want zero", got)
		}
		at := t0.Add(1234 * time.Millisecond)
		s.Observe(30, true, at)
		if got := s.LastHeard(); !got.Equal(at) {
			t.Errorf("got %v; want %v", got, at)
		}
	})
}

func TestTickClock(t *testing.T) {
	t.Parallel()
	t.Run("first Tick drops what came before", func(t *testing.T) {
		t.Parallel()
		d := New(Config{})
		s := d.Add("a")
		for range 50 {
			s.Observe(0, true, t0)
		}
		d.Tick(t0)
		if got, _ := d.Tick(t0.Add(tick)); got != nil {
			t.Errorf("got %v; want nil", got)
		}
	})
	t.Run("a late Tick averages over the time that passed", func(t *testing.T) {
		t.Parallel()
		r := newRoom(t, Config{Window: time.Second})
		r.feed("a", 20, true, 5) // 100 ms of 0.1 ...
		r.now = r.now.Add(500 * time.Millisecond)
		got, _ := r.d.Tick(r.now) // ... in 500 ms
		if len(got) != 1 || !near(got[0].Level, 0.02) {
			t.Errorf("got %v; want [{a 0.02}]", got)
		}
	})
	t.Run("a clock going back counts no time", func(t *testing.T) {
		t.Parallel()
		r := newRoom(t, Config{})
		r.steps(3, map[string]uint8{"a": 20})
		r.feed("a", 20, true, 5)
		got, _ := r.d.Tick(r.now.Add(-time.Second))
		if len(got) != 1 || !near(got[0].Level, 0.1) {
			t.Errorf("got %v; want [{a 0.1}]", got)
		}
	})
}

func TestObserveDoesNotAllocate(t *testing.T) {
	d := New(Config{})
	s := d.Add("a")
	at := t0
	if got := testing.AllocsPerRun(1000, func() { s.Observe(30, true, at) }); got != 0 {
		t.Errorf("Source.Observe: got %v allocations; want 0", got)
	}
	if got := testing.AllocsPerRun(1000, func() { d.Observe("a", 30, true, at) }); got != 0 {
		t.Errorf("Detector.Observe: got %v allocations; want 0", got)
	}
}

// TestConcurrent exercises every entry point at once, for the race detector, and checks no
// packet is lost between the packet paths and Tick.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	d := New(Config{})
	d.Tick(t0)
	const writers, packets = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		s := d.Add(fmt.Sprint("u", w))
		wg.Go(func() {
			for i := range packets {
				s.Observe(uint8(i%128), i%2 == 0, t0.Add(time.Duration(i)*time.Millisecond))
				d.Observe(s.UserID(), 10, true, t0)
			}
		})
	}
	wg.Go(func() {
		for i := range packets {
			id := fmt.Sprint("churn", i%4)
			d.Add(id).Observe(0, true, t0)
			d.Remove(id)
		}
	})
	done := make(chan struct{})
	ticked := make(chan int)
	go func() {
		n := 0
		for now := t0.Add(tick); ; now = now.Add(tick) {
			select {
			case <-done:
				ticked <- n
				return
			default:
			}
			d.Tick(now)
			n++
		}
	}()
	wg.Wait()
	close(done)
	if n := <-ticked; n == 0 {
		t.Log("no Tick ran during the writes")
	}
}

// BenchmarkSourceObserve is the packet path: one goroutine per track, as in a Receiver.
func BenchmarkSourceObserve(b *testing.B) {
	s := New(Config{}).Add("a")
	at := t0
	b.ReportAllocs()
	for b.Loop() {
		s.Observe(30, true, at)
	}
}

// BenchmarkTick is one 100 ms Tick of a 50-member room where everyone speaks.
func BenchmarkTick(b *testing.B) {
	d := New(Config{})
	var sources []*Source
	for i := range 50 {
		sources = append(sources, d.Add(fmt.Sprint("u", i)))
	}
	now := t0
	d.Tick(now)
	b.ReportAllocs()
	for b.Loop() {
		for i, s := range sources {
			for range 5 {
				s.Observe(uint8(i), true, now)
			}
		}
		now = now.Add(tick)
		d.Tick(now)
	}
}
