package signaling

import (
	"maps"
	"sync"
	"sync/atomic"
)

// counters count signaling traffic for metrics.
type counters struct {
	mu       sync.Mutex     // guards both maps
	messages map[string]int // by message type ("other" for unknown types)
	errors   map[int]int    // error frames sent, by code

	joinTimeouts atomic.Uint64 // sockets closed for not joining in time
}

func (c *counters) joinTimeout() { c.joinTimeouts.Add(1) }

func (c *counters) message(typ string) {
	if !known(typ) {
		typ = "other"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.messages == nil {
		c.messages = map[string]int{}
	}
	c.messages[typ]++
}

func (c *counters) error(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.errors == nil {
		c.errors = map[int]int{}
	}
	c.errors[code]++
}

// Stats is a snapshot of signaling activity.
type Stats struct {
	Connections int
	Messages    map[string]int // received, by type
	Errors      map[int]int    // error frames sent, by code
	// JoinTimeouts counts sockets closed for sending no join within join_timeout.
	JoinTimeouts uint64
}

// Stats reports live connections and message counts.
func (s *Server) Stats() Stats {
	s.conns.mu.Lock()
	n := len(s.conns.m)
	s.conns.mu.Unlock()
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return Stats{Connections: n, Messages: maps.Clone(s.stats.messages), Errors: maps.Clone(s.stats.errors),
		JoinTimeouts: s.stats.joinTimeouts.Load()}
}
