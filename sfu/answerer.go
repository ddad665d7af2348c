package sfu

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// ErrAnswered means a second subscriber offer came to a peer that answers
// its client's offer only once (WHEP has no renegotiation).
var ErrAnswered = errors.New("the subscriber connection was already offered: start a new session to renegotiate")

// answererState is what a peer in Answerer mode keeps about the client's
// offer. Owned by the peer's run goroutine.
type answererState struct {
	answered bool
	// waiting are tracks offered to the peer before the client's offer came:
	// they are bound to its m-lines when it does.
	waiting []*Track
	// slots are the m-lines the answer sends on, each with the down track
	// it carries now (nil between a track and its replacement).
	slots []*answerSlot
}

// answerSlot is one answered m-line: its sender outlives the tracks it carries.
type answerSlot struct {
	kind    webrtc.RTPCodecType
	sender  *webrtc.RTPSender
	current atomic.Pointer[DownTrack] // read by the slot's RTCP reader
}

func (a *answererState) forget(t *Track) {
	a.waiting = slices.DeleteFunc(a.waiting, func(w *Track) bool { return w == t })
}

// AnswerSubscriber applies the client's offer to the subscriber connection
// and answers it (Answerer mode). The tracks the peer was given so far are
// bound to the offer's m-lines of their kind, first come first served; an
// m-line without a track is answered inactive.
func (p *Peer) AnswerSubscriber(offer string) (answer string, err error) {
	defer recoverInto(&err)
	if !p.cfg.Answerer {
		return "", fmt.Errorf("%w: the server offers this peer's subscriber connection", ErrBadTarget)
	}
	err = p.call(func() (err error) {
		defer recoverInto(&err)
		if p.answerer.answered {
			return ErrAnswered
		}
		if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
			return fmt.Errorf("%w: %v", ErrBadSDP, err)
		}
		p.answerer.answered = true
		waiting := p.answerer.waiting
		p.answerer.waiting = nil
		for _, t := range waiting {
			p.subscribe(t)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return p.answer(p.sub)
}

// bindAnswered gives dt an m-line of the client's offer and returns its
// sender, or nil when it waits for the offer or no m-line of its kind is free.
func (p *Peer) bindAnswered(t *Track, dt *DownTrack) *webrtc.RTPSender {
	a := &p.answerer
	if !a.answered {
		if !slices.Contains(a.waiting, t) {
			a.waiting = append(a.waiting, t)
		}
		return nil
	}
	for _, s := range a.slots {
		if s.kind == t.Kind() && s.current.Load() == nil {
			if err := s.sender.ReplaceTrack(dt); err != nil {
				p.log.Warn("cannot forward track on its answered m-line", "track", t.ID(), "owner", t.Owner(), "err", err)
				return nil
			}
			s.current.Store(dt)
			return s.sender
		}
	}
	if p.sub.RemoteDescription() == nil || p.sub.LocalDescription() != nil {
		// Once answered, a new m-line would need an offer the server may not make.
		p.log.Info("no m-line left for this track: the client's offer had none free of its kind", "track", t.ID(), "kind", t.Kind().String())
		return nil
	}
	sender, err := p.sub.AddTrack(dt) // takes over a receive-only m-line of the offer
	if err != nil {
		p.log.Warn("cannot forward track", "track", t.ID(), "owner", t.Owner(), "err", err)
		return nil
	}
	if !p.offered(sender) {
		// pion made a new m-line: the offer had none of this kind free.
		_ = p.sub.RemoveTrack(sender)
		p.log.Info("the client's offer has no m-line for this track", "track", t.ID(), "kind", t.Kind().String())
		return nil
	}
	s := &answerSlot{kind: t.Kind(), sender: sender}
	s.current.Store(dt)
	a.slots = append(a.slots, s)
	p.goroutine(func() { p.readSubscriberRTCP(sender, s.current.Load) })
	return sender
}

// offered reports whether sender's transceiver came from the client's offer.
func (p *Peer) offered(sender *webrtc.RTPSender) bool {
	for _, tr := range p.sub.GetTransceivers() {
		if tr.Sender() == sender {
			return tr.Mid() != ""
		}
	}
	return false
}

// unbindAnswered frees s's m-line for the next track of its kind; it sends
// nothing meanwhile.
func (p *Peer) unbindAnswered(s *subscription) {
	for _, slot := range p.answerer.slots {
		if slot.sender == s.sender {
			slot.current.Store(nil)
		}
	}
	if err := s.sender.ReplaceTrack(nil); err != nil {
		p.log.Debug("clear answered m-line", "err", err)
	}
}
