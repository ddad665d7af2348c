package sfu

import (
	"slices"
	"testing"
)

const ms = int64(1_000_000)

// feedSeqs notes packets in the order given, one per ms from t0, as a layer's
// writer does, and returns the NACKs due after each (by index, when any).
func feedSeqs(n *nackTracker, seqs []uint64, t0 int64) map[int][]uint16 {
	out := map[int][]uint16{}
	var highest uint64
	started := false
	for i, s := range seqs {
		now := t0 + int64(i)*ms
		n.note(s, highest, started, now)
		if !started || s > highest {
			highest = s
		}
		started = true
		if due := n.due(now); len(due) > 0 {
			out[i] = slices.Clone(due)
		}
	}
	return out
}

func TestNACKTracker(t *testing.T) {
	tests := []struct {
		name        string
		seqs        []uint64
		wantNACKs   map[int][]uint16
		wantMissing int
	}{
		{"no loss", []uint64{10, 11, 12, 13}, map[int][]uint16{}, 0},
		{"one lost, asked for at once", []uint64{10, 11, 13, 14}, map[int][]uint16{2: {12}}, 1},
		{"a run lost", []uint64{10, 14, 15}, map[int][]uint16{1: {11, 12, 13}}, 3},
		{"reordered arrives before the check", []uint64{10, 12, 11, 13}, map[int][]uint16{1: {11}}, 0},
		{"resent over RTX: no longer missing", []uint64{10, 13, 14, 11, 12, 15}, map[int][]uint16{1: {11, 12}}, 0},
		{"a duplicate changes nothing", []uint64{10, 11, 11, 12}, map[int][]uint16{}, 0},
		{"a gap wider than followed is not asked for", []uint64{10, 10 + nackMaxMissing + 2, 10 + nackMaxMissing + 3}, map[int][]uint16{}, 0},
		{"wrap of the 16-bit numbers", []uint64{65534, 65535, 65537}, map[int][]uint16{2: {0}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n nackTracker
			got := feedSeqs(&n, tt.seqs, 1000*ms)
			if len(got) != len(tt.wantNACKs) {
				t.Fatalf("NACKs: got %v; want %v", got, tt.wantNACKs)
			}
			for i, want := range tt.wantNACKs {
				if !slices.Equal(got[i], want) {
					t.Errorf("NACKs after packet %d: got %v; want %v (all %v)", i, got[i], want, got)
				}
			}
			if n.len() != tt.wantMissing {
				t.Errorf("missing: got %d; want %d", n.len(), tt.wantMissing)
			}
		})
	}
}

func TestNACKRetries(t *testing.T) {
	var n nackTracker
	t0 := int64(5000) * ms
	n.note(10, 0, false, t0)
	n.note(12, 10, true, t0)
	var asks []int64 // ms after t0 at which 11 was asked for
	for now := t0; now <= t0+3000*ms; now += 5 * ms {
		if due := n.due(now); len(due) > 0 {
			if !slices.Equal(due, []uint16{11}) {
				t.Fatalf("due at +%d ms: got %v; want [11]", (now-t0)/ms, due)
			}
			asks = append(asks, (now-t0)/ms)
		}
	}
	if len(asks) != nackMaxTries {
		t.Fatalf("asked %d times (%v); want %d", len(asks), asks, nackMaxTries)
	}
	for i := 1; i < len(asks); i++ {
		if gap := asks[i] - asks[i-1]; gap < nackRetryAfter/ms {
			t.Errorf("asked again after %d ms; want at least %d", gap, nackRetryAfter/ms)
		}
	}
	if n.len() != 0 {
		t.Errorf("missing after the last try: got %d; want 0 (given up)", n.len())
	}

	t.Run("given up after the age limit", func(t *testing.T) {
		var n nackTracker
		n.note(10, 0, false, t0)
		n.note(12, 10, true, t0)
		n.due(t0)
		if due := n.due(t0 + pubNACKMaxAge + ms); len(due) != 0 || n.len() != 0 {
			t.Errorf("after %d ms: got due %v, %d missing; want none", (pubNACKMaxAge+ms)/ms, due, n.len())
		}
	})
	t.Run("not more often than the check interval", func(t *testing.T) {
		var n nackTracker
		n.note(10, 0, false, t0)
		n.note(12, 10, true, t0)
		n.due(t0)
		n.note(14, 12, true, t0+ms) // 13 lost, seen 1 ms after the last check
		if due := n.due(t0 + ms); due != nil {
			t.Errorf("1 ms after a check: got %v; want nil", due)
		}
		if due := n.due(t0 + nackCheckEvery); !slices.Equal(due, []uint16{13}) {
			t.Errorf("at the next check: got %v; want [13]", due)
		}
	})
}

func TestNACKTrackerBounded(t *testing.T) {
	var n nackTracker
	now := int64(1000) * ms
	n.note(0, 0, false, now)
	highest := uint64(0)
	// Every other packet lost, far more than are followed.
	for s := uint64(2); s < 4*nackMaxMissing; s += 2 {
		n.note(s, highest, true, now)
		highest = s
		if n.len() > nackMaxMissing {
			t.Fatalf("missing: got %d; want at most %d", n.len(), nackMaxMissing)
		}
	}
	due := n.due(now)
	if len(due) != nackMaxMissing || due[0] != uint16(highest-2*nackMaxMissing+1) {
		t.Errorf("due: got %d from %v; want the newest %d", len(due), due[:1], nackMaxMissing)
	}
	allocs := testing.AllocsPerRun(100, func() {
		now += nackRetryAfter
		highest += 2
		n.note(highest, highest-2, true, now)
		n.due(now)
	})
	if allocs != 0 {
		t.Errorf("allocations per packet once warm: got %v; want 0", allocs)
	}
}
