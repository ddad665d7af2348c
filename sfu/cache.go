package sfu

import (
	"sync"

	"github.com/pion/rtp"
)

// maxPacketSize bounds what the cache stores; bigger packets are not cached.
const maxPacketSize = 1500

// packetCache keeps the last packets of one layer, marshalled, so that every
// subscriber's NACKs are answered from one copy. The writer is the layer's
// reader goroutine; readers are subscribers' RTCP goroutines.
type packetCache struct {
	mu    sync.RWMutex // guards slots, lens, seqs
	slots []byte       // size * maxPacketSize bytes
	lens  []uint16
	seqs  []uint64 // extended sequence number stored in each slot (0 = empty)
	size  uint64
}

func newPacketCache(size int) *packetCache {
	return &packetCache{slots: make([]byte, size*maxPacketSize), lens: make([]uint16, size),
		seqs: make([]uint64, size), size: uint64(size)}
}

// put stores p under its extended sequence number.
func (c *packetCache) put(extSeq uint64, p *rtp.Packet) {
	n := p.MarshalSize()
	if n > maxPacketSize {
		return
	}
	i := extSeq % c.size
	c.mu.Lock()
	buf := c.slots[i*maxPacketSize : i*maxPacketSize+maxPacketSize]
	if m, err := p.MarshalTo(buf); err == nil {
		c.lens[i], c.seqs[i] = uint16(m), extSeq
	} else {
		c.seqs[i] = 0
	}
	c.mu.Unlock()
}

// get unmarshals the packet with extSeq into p, copying its payload into buf
// (p's payload then aliases buf). It reports false when the packet is gone.
func (c *packetCache) get(extSeq uint64, p *rtp.Packet, buf []byte) bool {
	i := extSeq % c.size
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.seqs[i] != extSeq {
		return false
	}
	n := copy(buf, c.slots[i*maxPacketSize:i*maxPacketSize+uint64(c.lens[i])])
	return p.Unmarshal(buf[:n]) == nil
}
