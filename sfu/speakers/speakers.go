// Package speakers detects the active speakers of a room from the audio levels publishers put in
// their RTP packets (RFC 6464 header extension), so the server, not every client, decides who
// is talking: the demo highlights them, layouts put the loudest in the large tile and the
// allocator favours their video.
//
// Two paths with different costs:
//
//   - The packet path: each member's audio Receiver calls [Source.Observe] for every packet.
//     It is a table lookup and a few atomic adds on the member's own counters: no lock, no map,
//     no allocation, safe from any number of goroutines.
//   - The room's timer calls [Detector.Tick] every 100 ms. It drains the counters, smooths each
//     member's level over the last ~300 ms, decides who speaks (loud enough for long enough
//     to start, so a click is not a speaker; hysteresis and a hold to stop, so a pause
//     between words is not silence) and says whether the list is worth sending.
//
// Levels. RFC 6464 carries -dBov: 0 is the loudest (a full-scale signal), 127 is silence. This
// package averages linear amplitude (10^(-level/20)), not dB: a window half speech at -20 dBov
// and half silence then reads -26 dBov (half the amplitude), where a dB average would read
// -73 dBov and a maximum would ignore the silence. Time without packets (Opus DTX, a muted or
// stopped track, loss) counts as silence, so a member who stops sending fades out by itself.
// [Speaker.Level] is that mean amplitude: 1 = 0 dBov (full scale), 0.1 = -20 dBov,
// 0.0178 = -35 dBov, 0 = silence. Normal speech reads roughly 0.02 to 0.2.
package speakers

import (
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Speaker is one member who is speaking: Level is the mean linear amplitude over the window,
// 1 = 0 dBov (full scale) down to 0 = silence.
type Speaker struct {
	UserID string
	Level  float64
}

// Defaults, chosen from what LiveKit and mediasoup ship and from what a browser sends.
const (
	// DefaultWindow is the smoothing window. 300 ms spans several syllables (a syllable is
	// ~150-250 ms), so single loud clicks do not make a speaker, yet the list follows a new
	// voice within about half a second. LiveKit observes 400-500 ms windows and then
	// smooths again; we average once over a sliding window instead.
	DefaultWindow = 300 * time.Millisecond

	// DefaultSpeakLevel is the level a member's smoothed amplitude must reach to start
	// speaking: -35 dBov, LiveKit's default speech level (ActiveLevel 35). Speech through a
	// browser's AGC sits around -20 to -30 dBov, rooms and fans at -50 and quieter.
	DefaultSpeakLevel = 35

	// DefaultMinActive is how much audio at or above the speak level the window must hold
	// before a member starts speaking. The mean alone lets one very loud frame through (a
	// 20 ms click at -10 dBov averages to -33.5 dBov over 300 ms); a click or a bumped desk
	// is one or two frames, a syllable is several. LiveKit asks for 40 % of its window; 100
	// ms of 300 keeps the onset within one 100 ms tick of continuous speech.
	DefaultMinActive = 100 * time.Millisecond

	// DefaultQuietLevel is the level below which a speaker starts to fall silent: -42 dBov,
	// 7 dB under DefaultSpeakLevel. A 150 ms pause in a 300 ms window halves the mean
	// amplitude (-6 dB), so a speaker in the middle of a sentence stays above it.
	DefaultQuietLevel = 42

	// DefaultHold is how long a speaker stays listed once below the quiet level: 500 ms
	// bridges the pauses between sentences, so the large tile does not flick away and back.
	DefaultHold = 500 * time.Millisecond

	// DefaultMinReportInterval is the shortest time between two reported changes: at most
	// five speakers messages a second to every member of a room.
	DefaultMinReportInterval = 200 * time.Millisecond

	// DefaultStepDB is the width of the level steps that decide order and "a level moved
	// notably". A speaker overtakes another only from a louder step, and a level change is
	// news only when it crosses a step (with a quarter step of hysteresis): 6 dB is a
	// doubling of amplitude, clearly audible, while the ±2-3 dB wobble of running speech
	// changes nothing.
	DefaultStepDB = 6.0

	// DefaultFrameDuration is the audio carried by one packet. Browsers send 20 ms Opus
	// frames (the WebRTC default ptime); see [Source.SetFrameDuration] for anything else.
	DefaultFrameDuration = 20 * time.Millisecond
)

// Config tunes a Detector. Zero fields take the defaults above.
type Config struct {
	Window            time.Duration // smoothing window
	SpeakLevel        uint8         // start speaking at or above -SpeakLevel dBov (0..127)
	MinActive         time.Duration // ... once the window holds this much audio that loud
	QuietLevel        uint8         // below -QuietLevel dBov for Hold: stop (>= SpeakLevel)
	Hold              time.Duration // how long a quiet speaker stays listed
	MinReportInterval time.Duration // shortest time between two changed reports
	StepDB            float64       // level step for order and notable change
}

func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.SpeakLevel == 0 || c.SpeakLevel > silentLevel {
		c.SpeakLevel = DefaultSpeakLevel
	}
	if c.MinActive < 0 {
		c.MinActive = 0
	} else if c.MinActive == 0 {
		c.MinActive = DefaultMinActive
	}
	if c.QuietLevel == 0 || c.QuietLevel > silentLevel {
		c.QuietLevel = DefaultQuietLevel
	}
	if c.QuietLevel < c.SpeakLevel { // a quiet threshold louder than the speak one: no band
		c.QuietLevel = c.SpeakLevel
	}
	if c.Hold < 0 {
		c.Hold = 0
	} else if c.Hold == 0 {
		c.Hold = DefaultHold
	}
	if c.MinReportInterval <= 0 {
		c.MinReportInterval = DefaultMinReportInterval
	}
	if c.StepDB <= 0 {
		c.StepDB = DefaultStepDB
	}
	return c
}

const (
	silentLevel = 127
	// ampScale is the fixed-point scale of ampTable: 2^24 keeps -100 dBov (1e-5) at 168
	// units, so the counters lose nothing that matters, and 2^40 packets fit in 64 bits.
	ampScale = 1 << 24
	// floorDB stands for silence in dB arithmetic (log10 of 0).
	floorDB = -float64(silentLevel)
)

// ampTable maps an RFC 6464 level to linear amplitude in units of 1/ampScale, so the packet
// path does no floating point. Level 127 is digital silence: exactly 0.
var ampTable = func() (t [silentLevel + 1]uint64) {
	for l := range silentLevel {
		t[l] = uint64(math.Round(LevelToAmplitude(uint8(l)) * ampScale))
	}
	return t
}()

// LevelToAmplitude converts an RFC 6464 level (-dBov, 0..127) to linear amplitude: 1 at 0,
// 0.1 at 20, 0 at 127 (silence) and beyond.
func LevelToAmplitude(level uint8) float64 {
	if level >= silentLevel {
		return 0
	}
	return math.Pow(10, -float64(level)/20)
}

// Source is one member's audio as the packet path sees it. Get it once with [Detector.Add]
// and call Observe for every audio packet.
type Source struct {
	userID     string
	speakLevel uint8 // frames at or under this level (-dBov) count as active

	// Written by the packet path, drained by Tick.
	sum   atomic.Uint64 // Σ amplitude (ampTable units) since the last Tick
	count atomic.Uint64 // packets since the last Tick
	loud  atomic.Uint64 // of which at or above the speak level
	vad   atomic.Bool   // the client has set the voice flag at least once
	last  atomic.Int64  // arrival of the last packet, Unix ns; 0 = never
	frame atomic.Int64  // audio per packet, ns

	// Owned by Tick (Detector.tickMu).
	hist     []interval // recent Tick intervals, oldest first, within the window
	level    float64    // smoothed amplitude
	speaking bool
	quietAt  time.Time // when the level fell below the quiet threshold; zero while above
	step     int       // level step with hysteresis; valid when stepSet
	stepSet  bool
	rank     int // position in the last reported list; -1 when not in it
}

// interval is what one Tick drained from a Source.
type interval struct {
	end    time.Time
	amp    float64       // Σ amplitude × seconds of audio
	span   float64       // seconds: the Tick interval, or the audio received if more
	active time.Duration // audio at or above the speak level
}

// UserID returns the member this source belongs to.
func (s *Source) UserID() string { return s.userID }

// Observe records one audio packet: level is the RFC 6464 level (-dBov, 0 loudest .. 127
// silence; the extension's 7 bits, higher bits are ignored), voice its V flag, at its
// arrival. It is safe for concurrent use and does not allocate.
//
// The voice flag is trusted only once the client has set it: libwebrtc sets it on every frame
// but DTX ones and some clients never set it. After a first V=1, a packet with V=0 counts as
// silence (comfort noise, a client's VAD saying "not speech"); before, levels alone decide.
func (s *Source) Observe(level uint8, voice bool, at time.Time) {
	level &= silentLevel
	amp := ampTable[level]
	if voice {
		if !s.vad.Load() {
			s.vad.Store(true)
		}
	} else if s.vad.Load() {
		amp = 0
	}
	s.sum.Add(amp)
	s.count.Add(1)
	if amp != 0 && level <= s.speakLevel {
		s.loud.Add(1)
	}
	s.last.Store(at.UnixNano())
}

// SetFrameDuration sets how much audio one packet carries (the negotiated ptime, or the
// difference of RTP timestamps over the clock rate). Zero or less restores the 20 ms default.
// A wrong value only scales the level: 60 ms frames counted as 20 ms read 9.5 dB low.
func (s *Source) SetFrameDuration(d time.Duration) {
	if d <= 0 {
		d = DefaultFrameDuration
	}
	s.frame.Store(int64(d))
}

// LastHeard returns the arrival time of the last observed packet, zero if none.
func (s *Source) LastHeard() time.Time {
	ns := s.last.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Detector finds the speakers of one room. Add, Remove and Observe may be called from any
// goroutine; Tick is meant for one owner (concurrent calls are serialized).
type Detector struct {
	cfg        Config
	speakAmp   float64 // amplitude of cfg.SpeakLevel
	quietAmp   float64 // amplitude of cfg.QuietLevel
	hysteresis float64 // dB a level may leave its step by before it changes step

	mu      sync.RWMutex
	members map[string]*Source

	tickMu     sync.Mutex
	started    bool
	lastTick   time.Time
	sources    []*Source // scratch for Tick: the members
	speaking   []*Source // scratch for Tick: those speaking
	reported   []reported
	reportedAt time.Time
}

// reported is one entry of the last list Tick reported as changed.
type reported struct {
	Speaker
	step int
}

// New returns a Detector with cfg (zero fields take the defaults).
func New(cfg Config) *Detector {
	cfg = cfg.withDefaults()
	return &Detector{
		cfg:        cfg,
		speakAmp:   LevelToAmplitude(cfg.SpeakLevel),
		quietAmp:   LevelToAmplitude(cfg.QuietLevel),
		hysteresis: cfg.StepDB / 4,
		members:    make(map[string]*Source),
	}
}

// Add registers a member and returns its Source. Adding a member again returns the same
// Source, so a member's second audio track (a shared tab's sound) feeds the same level.
func (d *Detector) Add(userID string) *Source {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.members[userID]; ok {
		return s
	}
	s := &Source{userID: userID, speakLevel: d.cfg.SpeakLevel, rank: -1}
	s.frame.Store(int64(DefaultFrameDuration))
	d.members[userID] = s
	return s
}

// Remove forgets a member; the next Tick reports the list without it. Its Source may still
// be observed by a packet path that has not let go of it: that is harmless and ignored.
func (d *Detector) Remove(userID string) {
	d.mu.Lock()
	delete(d.members, userID)
	d.mu.Unlock()
}

// Observe records a packet for a member by ID: [Source.Observe] behind a read lock and a
// map lookup, for callers without the Source at hand. Unknown members are ignored.
func (d *Detector) Observe(userID string, level uint8, voice bool, at time.Time) {
	d.mu.RLock()
	s := d.members[userID]
	d.mu.RUnlock()
	if s != nil {
		s.Observe(level, voice, at)
	}
}

// Tick drains what was observed since the last Tick and returns the speakers at now, loudest
// first, and whether the list should be sent: changed is true when the set, the order or a
// speaker's level step differs from the list last reported as changed, and at least
// MinReportInterval has passed since that report (a change held back is reported by a later
// Tick). Call it every 100 ms. The first call only starts the clock.
//
// Order: by level step (StepDB wide, with hysteresis), then by place in the last reported
// list, then by level. So a speaker keeps its place until another is a step louder, and the
// large tile does not flick between two people talking equally loud.
func (d *Detector) Tick(now time.Time) (list []Speaker, changed bool) {
	d.tickMu.Lock()
	defer d.tickMu.Unlock()

	d.mu.RLock()
	d.sources = d.sources[:0]
	for _, s := range d.members {
		d.sources = append(d.sources, s)
	}
	d.mu.RUnlock()

	if !d.started {
		for _, s := range d.sources {
			s.sum.Swap(0)
			s.count.Swap(0)
			s.loud.Swap(0)
		}
		d.started, d.lastTick = true, now
		return nil, false
	}
	elapsed := max(now.Sub(d.lastTick), 0).Seconds()
	d.lastTick = now

	speaking := d.speaking[:0]
	for _, s := range d.sources {
		d.update(s, now, elapsed)
		if s.speaking {
			speaking = append(speaking, s)
		}
	}
	d.speaking = speaking
	slices.SortFunc(speaking, func(a, b *Source) int {
		if a.step != b.step {
			return b.step - a.step // louder step first
		}
		if a.rank != b.rank {
			switch {
			case a.rank < 0:
				return 1 // newcomers after those already listed
			case b.rank < 0:
				return -1
			}
			return a.rank - b.rank
		}
		if a.level != b.level {
			if a.level > b.level {
				return -1
			}
			return 1
		}
		return strings.Compare(a.userID, b.userID)
	})

	if len(speaking) > 0 {
		list = make([]Speaker, len(speaking))
		for i, s := range speaking {
			list[i] = Speaker{UserID: s.userID, Level: s.level}
		}
	}
	if !d.differs(speaking) {
		return list, false
	}
	if !d.reportedAt.IsZero() && now.Sub(d.reportedAt) < d.cfg.MinReportInterval {
		return list, false
	}
	d.report(speaking, now)
	return list, true
}

// update drains s, recomputes its smoothed level, speaking state and level step.
func (d *Detector) update(s *Source, now time.Time, elapsed float64) {
	sum, n, loud := s.sum.Swap(0), s.count.Swap(0), s.loud.Swap(0)
	frame := time.Duration(s.frame.Load())
	audio := float64(n) * frame.Seconds()
	iv := interval{end: now, amp: float64(sum) / ampScale * frame.Seconds(),
		span: max(elapsed, audio), active: time.Duration(loud) * frame}

	// Drop intervals that ended before the window; keep the slice's array.
	cut := now.Add(-d.cfg.Window)
	drop := 0
	for drop < len(s.hist) && !s.hist[drop].end.After(cut) {
		drop++
	}
	s.hist = append(s.hist[:copy(s.hist, s.hist[drop:])], iv)

	var amp, span float64
	var active time.Duration
	for _, h := range s.hist {
		amp += h.amp
		span += h.span
		active += h.active
	}
	s.level = 0
	if span > 0 {
		s.level = min(amp/span, 1)
	}

	switch {
	case s.level >= d.speakAmp && (s.speaking || active >= d.cfg.MinActive):
		s.speaking, s.quietAt = true, time.Time{}
	case !s.speaking:
	case s.level >= d.quietAmp:
		s.quietAt = time.Time{}
	default: // speaking, now below the quiet level: hold, then stop
		if s.quietAt.IsZero() {
			s.quietAt = now
		}
		if now.Sub(s.quietAt) >= d.cfg.Hold {
			s.speaking, s.quietAt = false, time.Time{}
		}
	}

	db := floorDB
	if s.level > 0 {
		db = max(20*math.Log10(s.level), floorDB)
	}
	lo := float64(s.step) * d.cfg.StepDB
	if !s.stepSet || db < lo-d.hysteresis || db >= lo+d.cfg.StepDB+d.hysteresis {
		s.step, s.stepSet = int(math.Floor(db/d.cfg.StepDB)), true
	}
}

// differs reports whether the sorted speaking sources differ from the last report in set,
// order or level step.
func (d *Detector) differs(speaking []*Source) bool {
	if len(speaking) != len(d.reported) {
		return true
	}
	for i, s := range speaking {
		if r := d.reported[i]; r.UserID != s.userID || r.step != s.step {
			return true
		}
	}
	return false
}

// report makes speaking the last reported list.
func (d *Detector) report(speaking []*Source, now time.Time) {
	for _, s := range d.sources {
		s.rank = -1
	}
	d.reported = d.reported[:0]
	for i, s := range speaking {
		s.rank = i
		d.reported = append(d.reported, reported{Speaker{s.userID, s.level}, s.step})
	}
	d.reportedAt = now
}
