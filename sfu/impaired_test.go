package sfu

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// lossyConn impairs the SRTP and SRTCP (RFC 7983: first byte 128..191) that
// crosses the server's UDP socket: it drops a fraction each way and delays a
// fraction of what it sends, so those packets arrive after later ones. ICE and
// DTLS pass untouched, so the connection comes up as on a clean link.
type lossyConn struct {
	net.PacketConn
	reorder float64
	delay   time.Duration // how long a reordered packet is held

	mu   sync.Mutex // guards rng and loss
	rng  *rand.Rand
	loss float64

	droppedOut, droppedIn, delayed, sentRTP atomic.Int64
}

func newLossyConn(c net.PacketConn, loss, reorder float64, seed uint64) *lossyConn {
	return &lossyConn{PacketConn: c, loss: loss, reorder: reorder, delay: 25 * time.Millisecond,
		rng: rand.New(rand.NewPCG(seed, seed))}
}

func isSRTP(b []byte) bool { return len(b) > 0 && b[0] >= 128 && b[0] <= 191 }

func (c *lossyConn) roll() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64()
}

// lossRate is the share of SRTP dropped each way now.
func (c *lossyConn) lossRate() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loss
}

// setLoss changes the share of SRTP dropped each way.
func (c *lossyConn) setLoss(loss float64) {
	c.mu.Lock()
	c.loss = loss
	c.mu.Unlock()
}

func (c *lossyConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if !isSRTP(b) {
		return c.PacketConn.WriteTo(b, addr)
	}
	c.sentRTP.Add(1)
	loss := c.lossRate()
	switch r := c.roll(); {
	case r < loss:
		c.droppedOut.Add(1)
		return len(b), nil
	case r < loss+c.reorder:
		c.delayed.Add(1)
		cp := append([]byte(nil), b...)
		time.AfterFunc(c.delay, func() { _, _ = c.PacketConn.WriteTo(cp, addr) })
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

func (c *lossyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !isSRTP(b[:n]) || c.roll() >= c.lossRate() {
			return n, addr, err
		}
		c.droppedIn.Add(1)
	}
}

// received is one packet as the subscriber's application reads it.
type received struct {
	seq   uint16
	ts    uint32
	index int // the publisher's packet number; -1 for a packet without media
}

// impairedSubscriber connects a pion client to a Peer of e subscribed to t
// and records every RTP packet the client reads.
type impairedSubscriber struct {
	mu   sync.Mutex // guards pkts
	pkts []received
}

func (s *impairedSubscriber) snapshot() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pkts)
}

func connectImpairedSubscriber(t *testing.T, e *Engine, tr *Track) *impairedSubscriber {
	t.Helper()
	s := &impairedSubscriber{}
	p, client := dialSubscriber(t, e, func(remote *webrtc.TrackRemote) {
		for {
			p, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			r := received{seq: p.SequenceNumber, ts: p.Timestamp, index: -1}
			if len(p.Payload) >= 5 {
				r.index = int(binary.BigEndian.Uint32(p.Payload[1:5]))
			}
			s.mu.Lock()
			s.pkts = append(s.pkts, r)
			s.mu.Unlock()
		}
	}, tr)
	t.Cleanup(func() { _ = client.Close() })
	t.Cleanup(p.Close)
	return s
}

// TestImpairedLink forwards a publisher's stream to a real pion subscriber
// over a link that loses and reorders packets, and checks what the
// subscriber's application reads: once NACKs have been answered from the
// track's cache, (nearly) every packet arrived, each output number carries
// exactly the packet it should (no gaps in the numbering, no packet twice,
// no two packets under one number) and timestamps follow the numbers.
//
// WebRTC: run inside the test network namespace (scripts/netns-run.sh).
func TestImpairedLink(t *testing.T) {
	tests := []struct {
		name          string
		loss, reorder float64
	}{
		{"5% loss each way", 0.05, 0},
		{"5% loss each way and 5% reordered", 0.05, 0.05},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = udp.Close() })
			link := newLossyConn(udp, tc.loss, tc.reorder, uint64(i+1))
			e, err := NewEngine(EngineConfig{UDP: link, IncludeLoopback: true})
			if err != nil {
				t.Fatal(err)
			}
			var wantKey atomic.Bool
			tr := NewTrack(TrackOptions{ID: "alice-video", Owner: "alice", Kind: webrtc.RTPCodecTypeVideo, Codec: h264,
				RequestKeyframe: func() { wantKey.Store(true) }})
			t.Cleanup(tr.Close)
			sub := connectImpairedSubscriber(t, e, tr)

			// The publisher: 100 packets/s, one frame each, numbered in the
			// payload; sequence numbers wrap on the way.
			const rate = 100
			var published atomic.Int64
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				tick := time.NewTicker(time.Second / rate)
				defer tick.Stop()
				payload := make([]byte, 120)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					payload[0] = 0x41
					if i == 0 || wantKey.Swap(false) {
						payload[0] = 0x65
					}
					binary.BigEndian.PutUint32(payload[1:5], uint32(i))
					tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 9, Marker: true,
						SequenceNumber: uint16(65000 + i), Timestamp: uint32(i * 90000 / rate)}, Payload: payload})
					published.Store(int64(i))
				}
			}()
			defer func() {
				close(stop)
				<-done
			}()

			// Measure from the first packet the subscriber reads.
			first := -1
			deadline := time.Now().Add(15 * time.Second)
			for first < 0 && time.Now().Before(deadline) {
				for _, r := range sub.snapshot() {
					if r.index >= 0 {
						first = r.index
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
			if first < 0 {
				t.Fatal("media never reached the subscriber")
			}
			const measured = 6 * rate // packets
			last := first + measured  // exclusive
			// Keep publishing past the window so losses at its end are
			// noticed, and give NACKs time to be answered.
			deadline = time.Now().Add(measured/rate*time.Second + 10*time.Second)
			var pkts []received
			for time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				if published.Load() < int64(last+rate) {
					continue
				}
				pkts = sub.snapshot()
				if countIndexes(pkts, first, last) == measured {
					break
				}
			}
			pkts = sub.snapshot()

			// What the application read, as a decoder's jitter buffer sees it.
			bySeq := map[uint16]received{}
			dupes := 0
			offset := -1 // output number minus publisher's number (mod 2^16)
			for _, r := range pkts {
				if prev, ok := bySeq[r.seq]; ok {
					dupes++
					if prev.index != r.index {
						t.Fatalf("sequence number %d: got packets %d and %d; want one packet per number", r.seq, prev.index, r.index)
					}
					continue
				}
				bySeq[r.seq] = r
				if r.index < 0 {
					continue
				}
				if o := int(uint16(int(r.seq) - r.index)); offset < 0 {
					offset = o
				} else if o != offset {
					t.Fatalf("packet %d: got sequence number %d; want %d (numbers without gaps or repeats)",
						r.index, r.seq, uint16(r.index+offset))
				}
			}
			if dupes > 0 {
				t.Errorf("got %d packets read twice; want none (SRTP replay protection drops resends that were not needed)", dupes)
			}
			got := countIndexes(pkts, first, last)
			t.Logf("subscriber read %d of %d packets (%d distinct overall); link: %d of %d RTP/RTCP dropped out, %d in, %d reordered; track: %d NACKed",
				got, measured, len(bySeq), link.droppedOut.Load(), link.sentRTP.Load(), link.droppedIn.Load(), link.delayed.Load(), tr.Stats().NACKs)
			if got*100 < measured*99 {
				t.Errorf("received: got %d of %d packets; want at least 99 %% after NACK recovery", got, measured)
			}
			if link.droppedOut.Load() == 0 || tr.Stats().NACKs == 0 {
				t.Errorf("got %d packets dropped and %d NACKed; want both > 0 (the link must have been impaired)",
					link.droppedOut.Load(), tr.Stats().NACKs)
			}
			// Timestamps follow the sequence numbers.
			var prev *received
			for k := range uint16(measured) {
				r, ok := bySeq[uint16(first+offset)+k]
				if !ok {
					continue
				}
				if prev != nil && int32(r.ts-prev.ts) <= 0 {
					t.Errorf("packet %d: got timestamp %d after %d; want increasing", r.index, r.ts, prev.ts)
				}
				prev = &r
			}
		})
	}
}

// countIndexes counts distinct publisher packets in [from, to) among pkts.
func countIndexes(pkts []received, from, to int) int {
	seen := map[int]bool{}
	for _, r := range pkts {
		if r.index >= from && r.index < to {
			seen[r.index] = true
		}
	}
	return len(seen)
}
