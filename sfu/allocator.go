package sfu

import (
	"slices"
)

// Video priorities, highest first: what a subscriber looks at gets bandwidth
// before what it merely could see.
const (
	PriorityHidden  = 0 // not on screen: receives nothing
	PriorityVisible = 1
	PrioritySpeaker = 2
	PriorityPinned  = 3
)

// allocTrack is one track a subscriber receives, as the allocator sees it.
type allocTrack struct {
	audio    bool
	priority int
	maxLayer int       // highest layer worth sending (rendered size), -1 for none
	current  int       // the layer chosen last time (-1 or 0: none above the lowest)
	layers   []float64 // bits/s each layer costs, lowest first; 0 = unknown
}

// audioReserve is what an audio track is assumed to cost when its rate is not
// known yet (Opus voice with overhead).
const audioReserve = 64_000

// layerCost returns the cost of layer i, guessing from the neighbours when the
// layer has not been measured (it may be paused at the publisher by dynacast).
func (a allocTrack) layerCost(i int) float64 {
	if c := a.layers[i]; c > 0 {
		return c
	}
	// Each simulcast step doubles both dimensions: about 3x the bits.
	for j := i + 1; j < len(a.layers); j++ {
		if c := a.layers[j]; c > 0 {
			f := 1.0
			for range j - i {
				f *= 3
			}
			return c / f
		}
	}
	for j := i - 1; j >= 0; j-- {
		if c := a.layers[j]; c > 0 {
			f := 1.0
			for range i - j {
				f *= 3
			}
			return c * f
		}
	}
	return 150_000 * float64(i+1) * float64(i+1)
}

// keepSlack is how far over the budget a video may stay on the layer it has
// (as a share of the whole budget): a GCC estimate dips 15 % on one spurious
// overuse (a keyframe burst), and dropping a layer for it costs a keyframe
// now and another when it comes back. A lasting drop still goes below.
const keepSlack = 0.2

// allocate spends budget (bits/s) on tracks: audio first, always; then every
// visible video its lowest layer, by priority, while it fits; then upgrades,
// by priority, each to the highest layer that fits. Video that does not fit is
// paused (-1). It returns the chosen layer per track (audio: 0) and what the
// subscriber would need for every video at its best layer (for probing).
func allocate(budget float64, tracks []allocTrack) (layers []int, wanted float64) {
	return allocateFloor(budget, tracks, false, keepSlack)
}

// allocateFloor is allocate, and with floor every visible video keeps at least
// its lowest layer even over budget (what the estimate says then is not
// trusted enough to turn a picture off; see bwe.severe). slackShare is how far
// over the budget a video may keep its layer (keepSlack; 0 while the link
// loses packets: the estimate's dip is real then, and every layer kept over it
// adds to the loss).
func allocateFloor(budget float64, tracks []allocTrack, floor bool, slackShare float64) (layers []int, wanted float64) {
	slack := slackShare * budget
	layers = make([]int, len(tracks))
	order := make([]int, 0, len(tracks))
	for i, t := range tracks {
		layers[i] = -1
		if t.audio {
			layers[i] = 0
			c := audioReserve * 1.0
			if len(t.layers) > 0 && t.layers[0] > 0 {
				c = t.layers[0]
			}
			budget -= c
			wanted += c
			continue
		}
		if t.priority <= PriorityHidden || t.maxLayer < 0 || len(t.layers) == 0 {
			continue
		}
		order = append(order, i)
		wanted += t.layerCost(min(t.maxLayer, len(t.layers)-1))
	}
	// By priority; among equals, whoever has the higher layer now keeps it
	// first: otherwise two videos that each fit but not both would swap
	// layers (and keyframes) at every allocation.
	slices.SortStableFunc(order, func(a, b int) int {
		if d := tracks[b].priority - tracks[a].priority; d != 0 {
			return d
		}
		return tracks[b].current - tracks[a].current
	})
	for _, i := range order {
		if c := tracks[i].layerCost(0); c <= budget || floor {
			layers[i] = 0
			budget -= c
		}
	}
	for _, i := range order {
		t := tracks[i]
		if layers[i] < 0 {
			continue
		}
		base := t.layerCost(0)
		for l := min(t.maxLayer, len(t.layers)-1); l > 0; l-- {
			if extra := t.layerCost(l) - base; extra <= budget || (l <= t.current && extra <= budget+slack) {
				layers[i] = l
				budget -= extra
				break
			}
		}
	}
	return layers, wanted
}

// layerForSize picks the lowest layer at least as big as the rendered size
// (within 10 %), or the top one. Unknown sizes (0) mean the top layer.
func layerForSize(infos []LayerInfo, width, height int) int {
	top := len(infos) - 1
	if width <= 0 && height <= 0 {
		return top
	}
	for i, l := range infos {
		if l.Width == 0 || l.Height == 0 {
			return top // resolution not learnt yet: do not starve the view
		}
		if float64(l.Width) >= 0.9*float64(width) && float64(l.Height) >= 0.9*float64(height) {
			return i
		}
	}
	return top
}
