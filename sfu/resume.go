package sfu

import (
	"sync"
	"time"
)

// Shed video comes back through a gate per track, in slow start: at most
// resumeStart down tracks in a resumeInterval after a shed, twice as many in
// each interval after one that used its share while the server kept up,
// half as many after one in which it fell behind (ExtPacket.Behind over
// resumeLag). Without it every shed subscriber came back within a second or
// two of the server's recovery, each batch asking for a keyframe that went to
// all of them: the fan-out overshot the core, every subscriber shed again,
// and one overload run in five took 12 s to be clean (docs/benchmarks.md).
// The interval is the publisher's keyframe throttle (keyframeInterval), so a
// batch costs one keyframe; a room of a few subscribers never waits.
const (
	resumeStart    = 8
	resumeInterval = keyframeInterval
	resumeLag      = 100 * time.Millisecond
)

// resumeGate lets shed down tracks of one track resume (see resumeStart).
type resumeGate struct {
	mu      sync.Mutex // guards the fields below
	epoch   int64      // unix ns the current interval began; 0 before the first
	allowed int        // resumes the current interval allows
	used    int        // resumes granted in it
	lagged  bool       // a resume was refused in it because the server was behind
}

// shed notes that a down track was shed: the next resumes start slowly again.
func (g *resumeGate) shed() {
	g.mu.Lock()
	g.epoch, g.allowed, g.used, g.lagged = 0, resumeStart, 0, false
	g.mu.Unlock()
}

// admit reports whether a shed down track may resume at unix ns now, the
// server being behind its socket by behind.
func (g *resumeGate) admit(now int64, behind time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.epoch == 0 || now-g.epoch >= int64(resumeInterval) {
		switch {
		case g.allowed == 0:
			g.allowed = resumeStart
		case g.lagged:
			g.allowed = max(resumeStart, g.allowed/2)
		case g.used >= g.allowed:
			g.allowed *= 2
		}
		g.epoch, g.used, g.lagged = now, 0, false
	}
	if behind > resumeLag {
		g.lagged = true
		return false
	}
	if g.used >= g.allowed {
		return false
	}
	g.used++
	return true
}
