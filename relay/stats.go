package relay

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// common fills in the options every part of the relay takes: a discarding
// logger, the wall clock, counters of its own.
func common(log *slog.Logger, now func() time.Time, st *Stats) (*slog.Logger, func() time.Time, *Stats) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	if st == nil {
		st = &Stats{}
	}
	return log, now, st
}

// Stats count a node's relay traffic, over all its links (metrics read them).
type Stats struct {
	Links      atomic.Int64  // links up now
	Members    atomic.Int64  // other nodes' publishers entered here as members now (no connection of their own here)
	TracksOut  atomic.Uint64 // tracks offered to peers: each is one crossing
	TracksIn   atomic.Uint64 // peers' tracks published here
	PacketsOut atomic.Uint64 // media frames sent to peers
	BytesOut   atomic.Uint64
	PacketsIn  atomic.Uint64 // media frames received from peers
	BytesIn    atomic.Uint64
	Dropped    atomic.Uint64 // frames dropped because a peer's socket fell behind
}

// Snapshot is Stats read at one moment.
type Snapshot struct {
	Links                                    int64
	TracksOut, TracksIn                      uint64
	PacketsOut, BytesOut, PacketsIn, BytesIn uint64
	Dropped                                  uint64
}

// Snapshot reads the counters.
func (s *Stats) Snapshot() Snapshot {
	return Snapshot{Links: s.Links.Load(), TracksOut: s.TracksOut.Load(), TracksIn: s.TracksIn.Load(),
		PacketsOut: s.PacketsOut.Load(), BytesOut: s.BytesOut.Load(), PacketsIn: s.PacketsIn.Load(),
		BytesIn: s.BytesIn.Load(), Dropped: s.Dropped.Load()}
}
