package loadgen

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestFrameSizes(t *testing.T) {
	p := VideoProfile{Bitrate: 1_000_000, FPS: 30, KeyframeInterval: 2 * time.Second, KeyframeWeight: 8, MaxPayload: 1100}
	key, delta := p.frameSizes()
	if key != 8*delta {
		t.Fatalf("keyframe %d bytes, delta %d: want a keyframe 8 times a delta frame", key, delta)
	}
	// One keyframe interval: 1 keyframe + 59 delta frames carry 2 s of 1 Mbit/s.
	got := key + 59*delta
	if want := 250_000; got > want || got < want-67 {
		t.Fatalf("a keyframe interval carries %d bytes; want about %d", got, want)
	}
}

// depacketize checks that payloads are a well-formed RFC 6184 frame and returns
// the slice NAL type, the slice size and whether SPS and PPS came first.
func depacketize(t *testing.T, payloads [][]byte, maxPayload int) (nalType byte, size int, paramSets bool) {
	t.Helper()
	inFU := false
	for i, p := range payloads {
		if len(p) > maxPayload || len(p) < 2 {
			t.Fatalf("payload %d: %d bytes (max %d)", i, len(p), maxPayload)
		}
		switch p[0] & 0x1f {
		case nalSTAPA:
			if i != 0 {
				t.Fatalf("STAP-A at payload %d", i)
			}
			var types []byte
			for rest := p[1:]; len(rest) > 0; {
				n := int(rest[0])<<8 | int(rest[1])
				types = append(types, rest[2]&0x1f)
				rest = rest[2+n:]
			}
			// SPS, PPS, and the filler unit that carries the stamp.
			paramSets = len(types) == 3 && types[0] == 7 && types[1] == 8 && types[2] == nalFiller
		case nalFUA:
			start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
			if start == inFU {
				t.Fatalf("payload %d: start bit %v inside a fragmented unit: %v", i, start, inFU)
			}
			nalType = p[1] & 0x1f
			size += len(p) - 2
			inFU = !end
			if end && i != len(payloads)-1 {
				t.Fatalf("end bit at payload %d of %d", i, len(payloads))
			}
		default:
			nalType, size = p[0]&0x1f, len(p)-1
			if i != len(payloads)-1 {
				t.Fatalf("single NAL unit at payload %d of %d", i, len(payloads))
			}
		}
	}
	if inFU {
		t.Fatal("fragmented unit without an end bit")
	}
	return nalType, size, paramSets
}

func TestPacketizer(t *testing.T) {
	const maxPayload = 1100
	v := newVideoPacketizer(maxPayload, 30_000, rand.New(rand.NewPCG(1, 2)))
	for _, tc := range []struct {
		key        bool
		size       int
		wantType   byte
		wantParams bool
		wantPkts   int
	}{
		{key: true, size: 29_848, wantType: nalIDR, wantParams: true, wantPkts: 1 + 28}, // 29848 / 1098 -> 28 fragments
		{key: false, size: 3731, wantType: nalNonIDR, wantPkts: 4},
		{key: false, size: 1099, wantType: nalNonIDR, wantPkts: 1}, // fits a single NAL unit packet
		{key: false, size: 1100, wantType: nalNonIDR, wantPkts: 2},
		{key: true, size: 500, wantType: nalIDR, wantParams: true, wantPkts: 2},
	} {
		payloads := v.frame(tc.key, tc.size)
		if len(payloads) != tc.wantPkts {
			t.Errorf("key=%v size=%d: %d packets; want %d", tc.key, tc.size, len(payloads), tc.wantPkts)
		}
		for i, pl := range payloads {
			putStamp(pl[max(stampAt(pl, true), 0):], int64(1e18)+int64(i), uint32(i))
		}
		for i, pl := range payloads {
			if at, n, ok := readStamp(pl, true); !ok || at != int64(1e18)+int64(i) || n != uint32(i) {
				t.Errorf("key=%v size=%d payload %d: stamp %d, %d, %v; want %d, %d", tc.key, tc.size, i, at, n, ok, int64(1e18)+int64(i), i)
			}
		}
		typ, size, params := depacketize(t, payloads, maxPayload)
		if typ != tc.wantType || size != tc.size || params != tc.wantParams {
			t.Errorf("key=%v size=%d: NAL type %d, %d bytes, parameter sets %v; want %d, %d, %v",
				tc.key, tc.size, typ, size, params, tc.wantType, tc.size, tc.wantParams)
		}
	}
}

func TestPacketizerAllocatesNothingInSteadyState(t *testing.T) {
	v := newVideoPacketizer(1100, 30_000, rand.New(rand.NewPCG(1, 2)))
	v.frame(true, 29_848) // grows the buffers once
	if n := testing.AllocsPerRun(100, func() { v.frame(false, 3731); v.frame(true, 29_848) }); n != 0 {
		t.Fatalf("%v allocations per frame pair; want 0", n)
	}
}

// TestRxStream: loss is what was sent from the first packet to the newest
// and did not arrive; late and repeated packets are counted once.
func TestRxStream(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		numbers                []uint32
		wantReceived, wantSent int64
	}{
		{"in order", []uint32{5, 6, 7, 8}, 4, 4},
		{"a gap", []uint32{5, 6, 9, 10}, 4, 6},
		{"a gap filled late", []uint32{5, 6, 9, 7, 8}, 5, 5},
		{"a duplicate", []uint32{5, 6, 6, 7}, 3, 3},
		{"across the wrap", []uint32{1<<32 - 2, 1<<32 - 1, 0, 1}, 4, 4},
		{"a long gap, then a late one from before it", []uint32{1, 5000, 2}, 2, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s rxStream
			for _, n := range tc.numbers {
				s.note(n)
			}
			if got, want := s.received.Load(), tc.wantReceived; got != want {
				t.Errorf("received: got %d; want %d", got, want)
			}
			if got, want := s.expected.Load(), tc.wantSent; got != want {
				t.Errorf("sent (first to newest): got %d; want %d", got, want)
			}
		})
	}
}

func TestDelayPercentiles(t *testing.T) {
	var h delayHist
	a := h.snapshot()
	for i := 1; i <= 100; i++ {
		h.add(int64(i) * int64(time.Millisecond))
	}
	got, n := delayPercentiles(a, h.snapshot(), 0.5, 0.99)
	if n != 100 {
		t.Fatalf("counted %d; want 100", n)
	}
	// Buckets are 5 % apart: the answer is the bucket's upper bound.
	for i, want := range []float64{50, 99} {
		if got[i] < want || got[i] > want*1.05 {
			t.Errorf("quantile %d: got %.2f ms; want %.0f-%.2f", i, got[i], want, want*1.05)
		}
	}
}

func TestPacketGap(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    VideoProfile
		n    int
		want time.Duration
	}{
		{"unpaced", VideoProfile{Bitrate: 1_000_000}, 1100, 0},
		{"browser pacing", VideoProfile{Bitrate: 1_000_000, Pacing: 2.5}, 1100, 3520 * time.Microsecond},
		{"no video", VideoProfile{Pacing: 2.5}, 1100, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.packetGap(tc.n); got != tc.want {
				t.Errorf("packetGap(%d) = %v; want %v", tc.n, got, tc.want)
			}
		})
	}
}
