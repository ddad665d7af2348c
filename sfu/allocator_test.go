package sfu

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Measured costs of a typical 3-layer simulcast video (bits/s, lowest first).
var sim3 = []float64{150_000, 500_000, 1_500_000}

func video(priority, maxLayer int, layers ...float64) allocTrack {
	return allocTrack{priority: priority, maxLayer: maxLayer, layers: layers}
}

// on is t as it was last allocated layer current.
func on(t allocTrack, current int) allocTrack { t.current = current; return t }

func audioTrack(rate float64) allocTrack { return allocTrack{audio: true, layers: []float64{rate}} }

func TestAllocate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		budget     float64
		floor      bool
		tracks     []allocTrack
		want       []int
		wantWanted float64
	}{
		{"nothing", 1e6, false, nil, []int{}, 0},
		{"audio with no budget at all still sent", 0, false,
			[]allocTrack{audioTrack(0), audioTrack(40_000)}, []int{0, 0}, audioReserve + 40_000},
		{"audio first: video paused when audio takes the budget", 100_000, false,
			[]allocTrack{video(PriorityPinned, 2, sim3...), audioTrack(0)}, []int{-1, 0}, 1_500_000 + audioReserve},
		{"everything fits: top layer", 5e6, false,
			[]allocTrack{audioTrack(0), video(PriorityVisible, 2, sim3...)}, []int{0, 2}, audioReserve + 1_500_000},
		{"middle layer fits", audioReserve + 600_000, false,
			[]allocTrack{audioTrack(0), video(PriorityVisible, 2, sim3...)}, []int{0, 1}, audioReserve + 1_500_000},
		{"a video keeps its layer a little over the budget", audioReserve + 480_000, false,
			[]allocTrack{audioTrack(0), on(video(PriorityVisible, 2, sim3...), 1)}, []int{0, 1}, audioReserve + 1_500_000},
		{"but does not climb to it", audioReserve + 480_000, false,
			[]allocTrack{audioTrack(0), video(PriorityVisible, 2, sim3...)}, []int{0, 0}, audioReserve + 1_500_000},
		{"and leaves it when the budget is well short", audioReserve + 400_000, false,
			[]allocTrack{audioTrack(0), on(video(PriorityVisible, 2, sim3...), 1)}, []int{0, 0}, audioReserve + 1_500_000},
		{"of two equal videos, the one on the higher layer keeps it", audioReserve + 300_000 + 350_000, false,
			[]allocTrack{audioTrack(0), video(PriorityVisible, 2, sim3...), on(video(PriorityVisible, 2, sim3...), 1)},
			[]int{0, 0, 1}, audioReserve + 3_000_000},
		{"only the lowest layer fits", audioReserve + 400_000, false,
			[]allocTrack{audioTrack(0), video(PriorityVisible, 2, sim3...)}, []int{0, 0}, audioReserve + 1_500_000},
		{"lowest layer does not fit: paused", audioReserve + 149_999, false,
			[]allocTrack{audioTrack(0), video(PriorityVisible, 2, sim3...)}, []int{0, -1}, audioReserve + 1_500_000},
		{"exact budget", 150_000, false,
			[]allocTrack{video(PriorityVisible, 2, sim3...)}, []int{0}, 1_500_000},
		{"upgrades by priority: pinned, then speaker, then visible", 150_000*3 + 350_000 + 350_000, false,
			[]allocTrack{video(PriorityVisible, 2, sim3...), video(PrioritySpeaker, 2, sim3...), video(PriorityPinned, 2, sim3...)},
			[]int{0, 1, 1}, 3 * 1_500_000},
		{"lowest layers by priority while they fit", 300_000, false,
			[]allocTrack{video(PriorityVisible, 2, sim3...), video(PriorityPinned, 2, sim3...), video(PrioritySpeaker, 2, sim3...)},
			[]int{-1, 0, 0}, 3 * 1_500_000},
		{"every visible video its lowest layer before any upgrade", 150_000*3 + 100_000, false,
			[]allocTrack{video(PriorityPinned, 2, sim3...), video(PriorityVisible, 2, sim3...), video(PriorityVisible, 2, sim3...)},
			[]int{0, 0, 0}, 3 * 1_500_000},
		{"a cheaper video of lower priority takes what a dear one leaves", 200_000, false,
			[]allocTrack{video(PriorityPinned, 0, 300_000), video(PriorityVisible, 0, 100_000)}, []int{-1, 0}, 400_000},
		{"hidden video gets nothing and is not wanted", 1e7, false,
			[]allocTrack{video(PriorityHidden, 2, sim3...), video(PriorityVisible, 2, sim3...)}, []int{-1, 2}, 1_500_000},
		{"rendered size caps the layer", 1e7, false,
			[]allocTrack{video(PriorityVisible, 0, sim3...), video(PriorityPinned, 1, sim3...)}, []int{0, 1}, 150_000 + 500_000},
		{"no layer worth sending", 1e7, false,
			[]allocTrack{video(PriorityVisible, -1, sim3...)}, []int{-1}, 0},
		{"maxLayer beyond the layers clamped", 1e7, false,
			[]allocTrack{video(PriorityVisible, 5, sim3...)}, []int{2}, 1_500_000},
		{"single-layer video", 400_000, false,
			[]allocTrack{video(PriorityVisible, 0, 300_000)}, []int{0}, 300_000},
		{"video without layers ignored", 1e6, false,
			[]allocTrack{video(PriorityVisible, 0)}, []int{-1}, 0},
		{"unmeasured layers guessed", 1e6, false, // 150k, 600k, 1.35M
			[]allocTrack{video(PriorityVisible, 2, 0, 0, 0)}, []int{1}, 1_350_000},
		{"paused upper layers guessed from the lowest", 700_000, false, // 200k, 600k, 1.8M
			[]allocTrack{video(PriorityVisible, 2, 200_000, 0, 0)}, []int{1}, 1_800_000},
		{"paused lower layers guessed from the top", 150_000, false, // 100k, 300k, 900k
			[]allocTrack{video(PriorityVisible, 2, 0, 0, 900_000)}, []int{0}, 900_000},
		{"floor: lowest layers kept over budget, audio still first", 0, true,
			[]allocTrack{audioTrack(0), video(PriorityVisible, 2, sim3...), video(PriorityHidden, 2, sim3...), video(PriorityPinned, 2, sim3...)},
			[]int{0, 0, -1, 0}, audioReserve + 3_000_000},
		{"floor: upgrades only within budget", 900_000, true,
			[]allocTrack{video(PriorityVisible, 2, sim3...), video(PriorityPinned, 2, sim3...)},
			[]int{0, 1}, 3_000_000},
	}
	t.Run("no slack while the link loses packets", func(t *testing.T) {
		t.Parallel()
		tracks := []allocTrack{audioTrack(0), on(video(PriorityVisible, 2, sim3...), 1)}
		if got, _ := allocateFloor(audioReserve+480_000, tracks, true, 0); !slices.Equal(got, []int{0, 0}) {
			t.Errorf("layers: got %v; want [0 0]: a layer over the budget is left when the slack is 0", got)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []int
			var wanted float64
			if tc.floor {
				got, wanted = allocateFloor(tc.budget, tc.tracks, true, keepSlack)
			} else {
				got, wanted = allocate(tc.budget, tc.tracks)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("layers: got %v; want %v", got, tc.want)
			}
			if wanted != tc.wantWanted {
				t.Errorf("wanted: got %v; want %v", wanted, tc.wantWanted)
			}
		})
	}
}

// TestAllocateInvariants checks random subscribers: audio always sent, hidden
// video never, no layer above the rendered size, spending within budget, and
// nothing left that would still fit (no video paused, no layer upgrade that
// the leftover budget affords).
func TestAllocateInvariants(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(10, 10))
	for n := range 2000 {
		var tracks []allocTrack
		for range r.IntN(8) {
			if r.IntN(4) == 0 {
				tracks = append(tracks, audioTrack(float64(r.IntN(3))*30_000))
				continue
			}
			layers := make([]float64, 1+r.IntN(3))
			c := 50_000 + r.Float64()*200_000
			for i := range layers {
				layers[i] = c
				c *= 2 + 2*r.Float64()
			}
			tracks = append(tracks, video(r.IntN(4), r.IntN(len(layers)+1)-1, layers...))
		}
		budget := r.Float64() * 4e6
		got, _ := allocate(budget, tracks)
		spent, audio := 0.0, 0.0
		for i, tr := range tracks {
			switch {
			case tr.audio:
				if got[i] != 0 {
					t.Fatalf("case %d: audio track %d: got layer %d; want 0", n, i, got[i])
				}
				if tr.layers[0] > 0 {
					audio += tr.layers[0]
				} else {
					audio += audioReserve
				}
			case tr.priority == PriorityHidden && got[i] != -1:
				t.Fatalf("case %d: hidden video %d: got layer %d; want -1", n, i, got[i])
			case got[i] > tr.maxLayer:
				t.Fatalf("case %d: video %d: got layer %d; want at most %d", n, i, got[i], tr.maxLayer)
			case got[i] >= 0:
				spent += tr.layerCost(got[i])
			}
		}
		left := budget - audio - spent
		if spent > 0 && left < -1e-6 {
			t.Fatalf("case %d: spent %.0f on video with %.0f after audio; want within budget", n, spent, budget-audio)
		}
		for i, tr := range tracks {
			if tr.audio || tr.priority == PriorityHidden || tr.maxLayer < 0 || left < 0 {
				continue
			}
			switch l := got[i]; {
			case l < 0 && tr.layerCost(0) <= left:
				t.Fatalf("case %d: video %d paused though its lowest layer (%.0f) fits in what is left (%.0f)", n, i, tr.layerCost(0), left)
			case l >= 0 && l < tr.maxLayer && tr.layerCost(l+1)-tr.layerCost(l) <= left:
				t.Fatalf("case %d: video %d at layer %d though layer %d fits in what is left (%.0f)", n, i, l, l+1, left)
			}
		}
	}
}

func TestLayerForSize(t *testing.T) {
	t.Parallel()
	three := []LayerInfo{{Width: 320, Height: 180}, {Width: 640, Height: 360}, {Width: 1280, Height: 720}}
	tests := []struct {
		name          string
		infos         []LayerInfo
		width, height int
		want          int
	}{
		{"size not reported", three, 0, 0, 2},
		{"exactly the lowest", three, 320, 180, 0},
		{"smaller than the lowest", three, 160, 90, 0},
		{"within 10 % above the lowest", three, 350, 197, 0},
		{"more than 10 % above the lowest", three, 360, 203, 1},
		{"exactly the middle", three, 640, 360, 1},
		{"between middle and top", three, 900, 506, 2},
		{"bigger than the top", three, 1920, 1080, 2},
		{"width only", three, 600, 0, 1},
		{"portrait tile", three, 180, 320, 1},
		{"resolution not learnt yet", []LayerInfo{{}, {Width: 640, Height: 360}, {}}, 320, 180, 2},
		{"single layer", []LayerInfo{{Width: 640, Height: 360}}, 1920, 1080, 0},
		{"single layer, unknown size", []LayerInfo{{}}, 100, 100, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := layerForSize(tc.infos, tc.width, tc.height); got != tc.want {
				t.Errorf("layerForSize(%dx%d): got %d; want %d", tc.width, tc.height, got, tc.want)
			}
		})
	}
}

func TestAvailableLayer(t *testing.T) {
	t.Parallel()
	on, off := LayerInfo{Active: true}, LayerInfo{}
	tests := []struct {
		name  string
		l     int
		infos []LayerInfo
		want  int
	}{
		{"single layer", 0, []LayerInfo{off}, 0},
		{"paused stays paused", -1, []LayerInfo{on, on, on}, -1},
		{"all active", 2, []LayerInfo{on, on, on}, 2},
		{"top stopped: the next one down", 2, []LayerInfo{on, on, off}, 1},
		{"only the lowest", 2, []LayerInfo{on, off, off}, 0},
		{"lower ones stopped: the lowest above", 0, []LayerInfo{off, on, on}, 1},
		{"nothing active yet", 1, []LayerInfo{off, off, off}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := availableLayer(tt.l, tt.infos); got != tt.want {
				t.Errorf("availableLayer(%d) = %d; want %d", tt.l, got, tt.want)
			}
		})
	}
}
