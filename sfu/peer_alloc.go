package sfu

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/sfu/quality"
)

// SetTrackSettings records what the client reports about a remote video
// (adaptive stream) and re-allocates. It fails for a track the peer does not receive.
func (p *Peer) SetTrackSettings(trackID string, s TrackSettings) error {
	return p.call(func() error {
		for t, sub := range p.subs {
			if t.ID() == trackID {
				sub.settings = s
				p.allocate()
				return nil
			}
		}
		return ErrUnknownTrack
	})
}

// SetActiveSpeakers tells the peer who speaks now: their video gets
// bandwidth before other visible video. It does not block.
func (p *Peer) SetActiveSpeakers(userIDs []string) {
	ids := slices.Clone(userIDs)
	p.enqueue(func() {
		clear(p.speakers)
		for _, id := range ids {
			p.speakers[id] = true
		}
		p.allocate()
	})
}

// mediaRateWindow is the shortest span the media rate is measured over. Allocations
// also run between ticks (a track setting, new speakers) and reuse the last
// measurement: a rate over a few milliseconds is noise (0, or megabits from one
// keyframe), and an estimate capped by it let layers flap up and down.
const mediaRateWindow = 400 * time.Millisecond

// allocate spends the subscriber's downlink estimate on its tracks (see
// allocate in allocator.go), sets each video's target layer, paces at the
// estimate and probes when more is wanted than the estimate allows. Runs on
// the peer's goroutine.
func (p *Peer) allocate() {
	if len(p.subs) == 0 {
		p.videos.Store(nil)
		return
	}
	now := p.now()
	switch el := now.Sub(p.mediaAt); {
	case p.mediaAt.IsZero():
		p.pacer.takeMediaBytes()
		p.mediaAt = now
	case el >= mediaRateWindow:
		p.mediaRate = p.pacer.takeMediaBytes() * 8 / el.Seconds()
		p.mediaAt = now
	}
	est := p.bwe.estimate(p.mediaRate)
	subs := make([]*subscription, 0, len(p.subs))
	for _, s := range p.subs {
		subs = append(subs, s)
	}
	slices.SortFunc(subs, func(a, b *subscription) int { return strings.Compare(a.down.track.id, b.down.track.id) })
	tracks := make([]allocTrack, len(subs))
	var videos []*DownTrack
	for i, s := range subs {
		t := s.down.track
		s.infos = t.LayerInfos(s.infos)
		at := allocTrack{audio: t.kind == webrtc.RTPCodecTypeAudio, layers: make([]float64, len(s.infos))}
		for j, li := range s.infos {
			at.layers[j] = li.Bitrate
		}
		if !at.audio {
			videos = append(videos, s.down)
			at.maxLayer = layerForSize(s.infos, s.settings.Width, s.settings.Height)
			at.current = s.down.TargetLayer()
			switch {
			case !s.settings.Visible:
				at.priority = PriorityHidden
			case s.settings.Pinned:
				at.priority = PriorityPinned
			case p.speakers[t.owner]:
				at.priority = PrioritySpeaker
			default:
				at.priority = PriorityVisible
			}
		}
		tracks[i] = at
	}
	p.videos.Store(&videos)
	congested, losing := p.bwe.congestion()
	slack := keepSlack
	if losing {
		slack = 0
	}
	layers, wanted := allocateFloor(est, tracks, !p.bwe.severe(), slack)
	sending := 0.0
	for i, s := range subs {
		if tracks[i].audio {
			sending += max(tracks[i].layers[0], audioReserve)
			continue
		}
		l := availableLayer(layers[i], s.infos)
		if l >= 0 {
			sending += tracks[i].layerCost(l)
		}
		if from := s.down.TargetLayer(); from != l {
			p.log.Debug("layer", "track", s.down.track.id, "from", from, "to", l, "chosen", layers[i], "estimate", int(est), "congested", congested)
			if congested && l >= 0 && l < from {
				s.down.SwitchDown(l)
			} else {
				s.down.SetTargetLayer(l)
			}
		}
		if s.down.setDemand(layers[i]) {
			s.down.track.DemandChanged()
		}
	}
	// Pace at what was allocated when the floor put that above the estimate:
	// a pacer slower than the media only adds delay before dropping it.
	p.pacer.setRate(max(est, sending))
	p.pacer.setResendRate(est)
	p.recordQuality(subs, sending, wanted)
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		var stale, repairs uint64      // since each down track began: late packets not forwarded, keyframes asked to repair a loss
		var nacks [nackOutcomes]uint64 // NACKed numbers by what came of them (DownTrack.nackVerdicts)
		for _, s := range subs {
			st := s.down.Stats()
			stale, repairs = stale+st.Stale, repairs+st.Repairs
			for i := range nacks {
				nacks[i] += s.down.nackVerdicts[i].Load()
			}
		}
		p.log.Debug("allocation", "estimate", int(est), "media", int(p.mediaRate), "sending", int(sending),
			"wanted", int(wanted), "layers", layers, "stale", stale, "repairs", repairs, "nacks", nacks, "bwe", p.bwe.describe())
	}
	upgrading := false
	for _, s := range subs {
		if t := s.down.TargetLayer(); t >= 0 && t > s.down.CurrentLayer() {
			upgrading = true
			break
		}
	}
	p.bwe.noteUpgrading(upgrading)
	if pad := p.bwe.wantProbe(est, sending, p.mediaRate, wanted); pad > 0 {
		p.pacer.probe(pad, probeDuration, p.padOnVideo)
	} else if !p.bwe.probingNow() {
		p.pacer.stopProbe()
	}
}

// padOnVideo sends one padding packet on a video the subscriber receives.
func (p *Peer) padOnVideo(n int) bool {
	v := p.videos.Load()
	if v == nil {
		return false
	}
	for _, d := range *v {
		if d.sendPadding(n) {
			return true
		}
	}
	return false
}

// recordQuality keeps a snapshot of what the subscriber's receiver reports
// say (worst track) and how much of what it wants it gets, for QualityStats.
func (p *Peer) recordQuality(subs []*subscription, sending, wanted float64) {
	var st quality.Stats
	for _, s := range subs {
		rs := s.down.ReceiverStats()
		st.PacketLoss = max(st.PacketLoss, rs.FractionLost)
		st.RTTMs = max(st.RTTMs, float64(rs.RTTMs))
		if cr := s.down.track.codec.ClockRate; cr > 0 {
			st.JitterMs = max(st.JitterMs, float64(rs.Jitter)*1000/float64(cr))
		}
	}
	st.Bitrate, st.TargetBitrate = sending, wanted
	p.quality.Store(&st)
}

// QualityStats rates the member's connection for the room: the subscriber
// side's loss, jitter and RTT, the bitrate it gets against what it wants, the
// loss and jitter of what it publishes since the last call (a member whose
// uplink loses packets looks frozen to everyone else, whatever its downlink),
// and how long since anything (RTCP or media) came from it. Call it once per
// quality window.
func (p *Peer) QualityStats() quality.Stats {
	var st quality.Stats
	if q := p.quality.Load(); q != nil {
		st = *q
	}
	loss, jitter := p.uplinkQuality()
	st.PacketLoss = max(st.PacketLoss, loss)
	st.JitterMs = max(st.JitterMs, jitter*1000)
	if last := p.lastHeard.Load(); last != 0 {
		st.LastPacketAge = time.Duration(p.now().UnixNano() - last)
	}
	return st
}

// availableLayer limits the chosen layer l to the layers the publisher sends
// now: the highest active one up to l, else the lowest active one above it
// (the publisher dropped the lower ones). A subscriber waiting for a keyframe
// of a layer nobody sends would freeze. With no layer active (the track just
// started, or its publisher stalled) l stands.
func availableLayer(l int, infos []LayerInfo) int {
	if l < 0 || len(infos) < 2 {
		return l
	}
	for i := min(l, len(infos)-1); i >= 0; i-- {
		if infos[i].Active {
			return i
		}
	}
	for i := l + 1; i < len(infos); i++ {
		if infos[i].Active {
			return i
		}
	}
	return l
}

// uplinkQuality is the worst loss (since the previous call) and jitter
// (seconds) among the tracks this member publishes.
func (p *Peer) uplinkQuality() (loss, jitter float64) {
	tracks := p.publishedTracks()
	p.uplinkMu.Lock()
	defer p.uplinkMu.Unlock()
	seen := make(map[*Track]ReceiveCounters, len(tracks))
	for _, t := range tracks {
		cur := t.ReceiveCounters()
		if prev, ok := p.uplinkPrev[t]; ok {
			loss = max(loss, uplinkLoss(prev, cur))
		}
		jitter = max(jitter, cur.Jitter)
		seen[t] = cur
	}
	p.uplinkPrev = seen // unpublished tracks fall out
	return loss, jitter
}
