package twcc

import (
	"slices"
	"testing"
)

// TestHoldback: packets are released only once every active stream has
// recorded past their arrival, so a late reader never makes a gap; a silent
// stream holds nothing back, and nothing is held longer than holdMax.
func TestHoldback(t *testing.T) {
	t.Parallel()
	const ms = 1_000_000
	type rec struct {
		ssrc          uint32
		seq           uint16
		arrival, read int64 // ns
	}
	tests := []struct {
		name    string
		records []rec
		now     int64 // release time
		want    []uint16
	}{
		{
			// audio (1) seq 2 arrived at 12 ms; video (2) seqs 1 and 3 arrived at 10
			// and 14 ms, and only seq 1 has been read yet.
			name:    "video read late: the audio after it waits",
			records: []rec{{1, 2, 12 * ms, 100 * ms}, {2, 1, 10 * ms, 100 * ms}},
			now:     100 * ms,
			want:    []uint16{1},
		},
		{
			// video has read past the audio: all up to the audio's newest go; 3 waits
			// for the audio to read past 14 ms.
			name:    "released up to the slowest stream",
			records: []rec{{1, 2, 12 * ms, 100 * ms}, {2, 1, 10 * ms, 100 * ms}, {2, 3, 14 * ms, 100 * ms}},
			now:     100 * ms,
			want:    []uint16{1, 2},
		},
		{
			name:    "a stream silent for longer than holdActive holds nothing back",
			records: []rec{{2, 1, 10 * ms, 10 * ms}, {1, 2, 12 * ms, 12*ms + holdActive}},
			now:     12*ms + holdActive + ms,
			want:    []uint16{1, 2},
		},
		{
			// a repair stream (3) sent one resend at 5 ms: 25 ms later it holds nothing back.
			name:    "a lone packet holds back for holdMinGap only",
			records: []rec{{3, 1, 5 * ms, 6 * ms}, {1, 2, 12 * ms, 13 * ms}, {1, 3, 32 * ms, 33 * ms}},
			now:     33 * ms,
			want:    []uint16{1, 2, 3},
		},
		{
			name:    "held for holdMax: released whatever lags",
			records: []rec{{1, 2, 12 * ms, 100 * ms}, {2, 1, 10 * ms, 100 * ms}},
			now:     100*ms + holdMax,
			want:    []uint16{1, 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h holdback
			for _, r := range tt.records {
				h.add(r.ssrc, r.seq, r.arrival, r.read)
			}
			var got []uint16
			for _, p := range h.release(tt.now, nil) {
				got = append(got, p.seq)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("released: got %v; want %v", got, tt.want)
			}
		})
	}
}
