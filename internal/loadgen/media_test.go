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
			paramSets = len(types) == 2 && types[0] == 7 && types[1] == 8
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
