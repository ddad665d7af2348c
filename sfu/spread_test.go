package sfu

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha1"
	"fmt"
	"hash"
	"sync"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// recordingSink keeps the extended sequence numbers it was written, in order.
type recordingSink struct {
	mu   sync.Mutex // guards seqs: a sink may be written from a worker
	seqs []uint64
}

func (s *recordingSink) WriteRTP(p *ExtPacket) error {
	s.mu.Lock()
	s.seqs = append(s.seqs, p.ExtSeq)
	s.mu.Unlock()
	return nil
}

func TestSpreaderDeliversEveryPacketInOrder(t *testing.T) {
	tests := []struct {
		name    string
		workers int // 0: no spreader
		sinks   int
	}{
		{"inline", 0, 300},
		{"below the threshold", 3, 2*spreadMin - 1},
		{"two workers", 2, 300},
		{"more workers than runs", 8, 3 * spreadMin},
		{"three workers", 3, 301},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s *Spreader
			if tc.workers > 0 {
				s = NewSpreader(tc.workers)
				defer s.Close()
			}
			sinks := make([]Sink, tc.sinks)
			recs := make([]*recordingSink, tc.sinks)
			for i := range sinks {
				recs[i] = &recordingSink{}
				sinks[i] = recs[i]
			}
			var st spreadState
			const packets = 200
			for i := range packets {
				s.fanout(&st, sinks, []*ExtPacket{{ExtSeq: uint64(i)}})
			}
			for i, r := range recs {
				if len(r.seqs) != packets {
					t.Fatalf("sink %d: got %d packets; want %d", i, len(r.seqs), packets)
				}
				for j, seq := range r.seqs {
					if seq != uint64(j) {
						t.Fatalf("sink %d: packet %d is %d; want %d (reordered)", i, j, seq, j)
					}
				}
			}
		})
	}
}

// Spreading runs on every packet of a large room: it must not allocate.
func TestSpreaderAllocatesNothing(t *testing.T) {
	s := NewSpreader(2)
	defer s.Close()
	sinks := make([]Sink, 100)
	for i := range sinks {
		sinks[i] = &fakeSink{}
	}
	var st spreadState
	p := []*ExtPacket{{}}
	s.fanout(&st, sinks, p) // sizes the jobs
	if got := testing.AllocsPerRun(500, func() { s.fanout(&st, sinks, p) }); got != 0 {
		t.Errorf("got %v allocations per fan-out; want 0", got)
	}
}

type fakeSink struct{ n int }

func (s *fakeSink) WriteRTP(*ExtPacket) error { s.n++; return nil }

// TestSpreaderClose is not parallel: goleak sees the whole process.
func TestSpreaderClose(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	s := NewSpreader(3)
	sinks := make([]Sink, 100)
	recs := make([]*recordingSink, len(sinks))
	for i := range sinks {
		recs[i] = &recordingSink{}
		sinks[i] = recs[i]
	}
	var st spreadState
	s.fanout(&st, sinks, []*ExtPacket{{ExtSeq: 1}})
	s.Close()
	s.Close()                                       // twice is fine
	s.fanout(&st, sinks, []*ExtPacket{{ExtSeq: 2}}) // after Close: inline
	for i, r := range recs {
		if len(r.seqs) != 2 {
			t.Fatalf("sink %d: got %v; want [1 2]", i, r.seqs)
		}
	}
	goleak.VerifyNone(t, opt)
	var none *Spreader
	none.Close() // a nil Spreader (one core) closes too
}

// cipherWriter stands for a subscriber connection's send path: it encrypts
// the packet (as SRTP does) before it "sends" it, so a benchmark of the
// fan-out spends its time where a server does.
type cipherWriter struct {
	ctr interface{ Encrypt(dst, src []byte) }
	mac hash.Hash
	buf [1500]byte
	tag [sha1.Size]byte
}

func newCipherWriter() *cipherWriter {
	key := make([]byte, 16)
	blk, _ := aes.NewCipher(key)
	return &cipherWriter{ctr: blk, mac: hmac.New(sha1.New, key)}
}

func (w *cipherWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	for i := 0; i+aes.BlockSize <= len(payload); i += aes.BlockSize {
		w.ctr.Encrypt(w.buf[i:], payload[i:])
	}
	w.mac.Reset()
	w.mac.Write(w.buf[:len(payload)])
	w.mac.Sum(w.tag[:0])
	return len(payload), nil
}
func (w *cipherWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkFanoutSpread: one publisher's packet to N subscribers whose send
// path encrypts it, on the reading goroutine alone ("inline") and spread over
// the other CPUs ("spread"). ns/pkt is the time from reading a packet to the
// last subscriber having it: what the last subscriber waits.
func BenchmarkFanoutSpread(b *testing.B) {
	for _, n := range []int{50, 100, 150, 300} {
		for _, spread := range []bool{false, true} {
			mode := "inline"
			if spread {
				mode = "spread"
			}
			b.Run(fmt.Sprintf("%s/subscribers=%d", mode, n), func(b *testing.B) {
				var s *Spreader
				if spread {
					if s = NewSpreader(0); s == nil {
						b.Skip("one CPU: nothing to spread to")
					}
					defer s.Close()
				}
				tr := NewTrack(TrackOptions{ID: "v", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo, Codec: h264, Spreader: s})
				for i := range n {
					d := NewDownTrack(tr)
					if _, err := d.Bind(fakeContext{codecs: negotiated(102, h264), ssrc: webrtc.SSRC(i + 1), w: newCipherWriter()}); err != nil {
						b.Fatal(err)
					}
					tr.AddSink(d)
				}
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 42}, Payload: make([]byte, 1100)}
				pkt.Payload[0] = 0x65
				tr.WriteRTP(pkt)
				pkt.Payload[0] = 0x41
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					pkt.SequenceNumber++
					tr.WriteRTP(pkt)
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/pkt")
			})
		}
	}
}
