package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/sfu/quality"
	"github.com/openroom/openroom/sfu/rtcpin"
	"github.com/openroom/openroom/sfu/srtpkeys"
	"github.com/openroom/openroom/sfu/twcc"
)

// Targets of signaling messages: the two peer connections of one member.
const (
	TargetPublisher  = "publisher"
	TargetSubscriber = "subscriber"
)

// Errors returned to signaling; messages say what the client did wrong.
var (
	ErrBadSDP     = errors.New("invalid SDP")
	ErrBadTarget  = errors.New(`target must be "publisher" or "subscriber"`)
	ErrNotAllowed = errors.New("missing privilege")
	ErrNoOffer    = errors.New("no offer is waiting for an answer")
	ErrClosed     = errors.New("peer is closed")
)

// Permissions say which media a peer may send and receive. A shared screen
// and its sound are the "aux" stream: SendAux and ReceiveAux govern them, not
// the audio and video bits.
type Permissions struct {
	SendAudio, SendVideo, ReceiveAudio, ReceiveVideo bool
	SendAux, ReceiveAux                              bool
}

// maySend reports whether a track of kind k carrying src may be published.
func (p Permissions) maySend(k webrtc.RTPCodecType, src Source) bool {
	switch {
	case src.IsScreen():
		return p.SendAux
	case k == webrtc.RTPCodecTypeAudio:
		return p.SendAudio
	}
	return p.SendVideo
}

// mayReceive reports whether t may be forwarded to the peer.
func (p Permissions) mayReceive(t *Track) bool {
	switch {
	case t.Source().IsScreen():
		return p.ReceiveAux
	case t.Kind() == webrtc.RTPCodecTypeAudio:
		return p.ReceiveAudio
	}
	return p.ReceiveVideo
}

// PeerConfig wires a Peer to its room and its signaling connection.
// Callbacks are called from the peer's goroutines and must not block for long.
type PeerConfig struct {
	ID          string // the member's user ID; also the stream ID of its tracks
	Permissions Permissions
	Logger      *slog.Logger
	// OnTrack is called when the client starts sending a track; the caller publishes it.
	OnTrack func(*Track)
	// OnTrackEnded is called when that track stops; the caller unpublishes it.
	OnTrackEnded func(*Track)
	// OnOffer sends a subscriber offer to the client.
	OnOffer func(sdp string)
	// OnCandidate sends a server ICE candidate to the client.
	OnCandidate func(target string, c webrtc.ICECandidateInit)
	// OnState reports connection state changes of either peer connection.
	OnState func(target string, s webrtc.PeerConnectionState)
	// OnPublishLayers tells the client which simulcast layers of its track
	// (by RID, lowest first) some subscriber receives; it pauses the others
	// (dynacast). Optional. Called with no lock held by the caller's room.
	OnPublishLayers func(trackID, mid string, rids []string)
	// Now is the clock. Optional (time.Now).
	Now func() time.Time
	// Accept narrows what the peer receives beyond Permissions (a WHEP viewer
	// plays one member's camera and microphone). Optional: nil accepts all.
	Accept func(*Track) bool
	// PreferVideo puts this codec (a MIME type, "video/H264") first in the
	// answers to the client's publisher offers, whatever the offer's order:
	// a WHIP encoder then sends what FLV and RTMP viewers can play. Optional.
	PreferVideo string
	// NoTrickle makes answers wait for ICE gathering, so they carry every
	// server candidate: WHIP and WHEP clients need not trickle.
	NoTrickle bool
	// Answerer: the client offers the subscriber connection, once
	// (AnswerSubscriber; WHEP), and the server never renegotiates it: tracks
	// are bound to the offer's m-lines, and a track that replaces another of
	// its kind takes over its m-line.
	Answerer bool
}

// TrackSettings are what a subscriber's client reports about a remote video
// (adaptive stream): whether it is on screen and at what size.
type TrackSettings struct {
	Visible       bool
	Width, Height int // device pixels; 0 unknown
	Pinned        bool
}

// ErrUnknownTrack means a message named a track the member does not receive.
var ErrUnknownTrack = errors.New("unknown trackID")

// subscription is one track forwarded to this peer.
type subscription struct {
	down     *DownTrack
	sender   *webrtc.RTPSender
	settings TrackSettings
	infos    []LayerInfo // scratch for the allocator
}

// pubTrack is a track this peer publishes: one per receiver, fed by one
// goroutine per simulcast layer.
type pubTrack struct {
	track *Track
	mid   string
	open  int // layer goroutines still reading
}

// allocInterval is how often each subscriber's bandwidth is re-allocated.
const allocInterval = 500 * time.Millisecond

// Peer is a browser (or any WebRTC client) in a room: a publisher connection
// that the client offers, and a subscriber connection that the server offers.
// Splitting them means offers never collide.
type Peer struct {
	cfg    PeerConfig
	log    *slog.Logger
	engine *Engine     // makes the publisher connection; its batch corks bursts of sends
	direct *directSend // the subscriber connection's own send path; nil: pion's (EngineConfig.PionSendPath)
	sub    *webrtc.PeerConnection

	// The publisher connection is made at the member's first publisher offer:
	// most members of a large room only watch, and an idle connection costs
	// goroutines and memory (its interceptors run as soon as it exists).
	pubPCMu   sync.Mutex             // guards pub and pubClosed
	pub       *webrtc.PeerConnection // nil until the first publisher offer
	pubClosed bool                   // Close ran: no publisher connection is made any more

	// A client's candidate may overtake its first offer (it trickles as soon
	// as it gathers); pion refuses candidates before the remote description,
	// so they wait here until the offer is applied.
	earlyMu  sync.Mutex                // guards early and offerSet; held while an offer is applied
	early    []webrtc.ICECandidateInit // publisher candidates that came before any offer
	offerSet bool                      // a publisher offer has been applied

	// ops feed the subscriber goroutine, which alone touches subs, dirty and awaitingAnswer.
	opsMu  sync.Mutex // guards ops
	ops    []func()
	wake   chan struct{}
	done   chan struct{}
	closed sync.Once

	subs           map[*Track]*subscription
	dirty          bool // subscriber tracks changed since the last offer
	iceRestart     bool // the next offer restarts ICE
	awaitingAnswer bool
	answerer       answererState   // owned by run: Answerer mode's m-lines
	speakers       map[string]bool // owned by run: members speaking now
	mediaAt        time.Time       // owned by run: when allocate last took the pacer's media bytes
	mediaRate      float64         // owned by run: media bits/s sent over the last full rate window

	now        func() time.Time
	pacer      *pacer
	bwe        *bwe
	videos     atomic.Pointer[[]*DownTrack]  // video down tracks, for probe padding
	quality    atomic.Pointer[quality.Stats] // snapshot written by allocate
	uplinkMu   sync.Mutex                    // guards uplinkPrev
	uplinkPrev map[*Track]ReceiveCounters    // published tracks' arrival counters at the last QualityStats
	lastHeard  atomic.Int64                  // unix ns of the last RTCP from the client

	pubMu     sync.Mutex // guards published, rids and sources
	published map[*webrtc.RTPReceiver]*pubTrack
	rids      map[string][]string // simulcast RIDs by mid, lowest first, from the last offer
	sources   map[string]Source   // what each sending m-line carries, by mid, as the client said

	// subState and pubState follow the two connections. Keyframes asked for
	// before the subscriber connection is connected would arrive before SRTP is
	// up and be dropped.
	subState, pubState connState

	wgMu     sync.Mutex // guards wg.Add against Close's wg.Wait, and isClosed
	isClosed bool
	wg       sync.WaitGroup
}

// NewPeer creates both peer connections and starts the subscriber goroutine.
func (e *Engine) NewPeer(cfg PeerConfig) (*Peer, error) {
	if cfg.Logger == nil {
		cfg.Logger = e.log
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Peer{
		cfg: cfg, log: cfg.Logger.With("peer", cfg.ID),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		subs: map[*Track]*subscription{}, speakers: map[string]bool{},
		now: cfg.Now, bwe: newBWE(cfg.Now), engine: e,
		published: map[*webrtc.RTPReceiver]*pubTrack{}, rids: map[string][]string{}, sources: map[string]Source{},
	}
	est := twcc.New(twcc.Config{Initial: initialEstimate, Min: minEstimate, Max: maxEstimate, Now: cfg.Now,
		OnCongestion: func() { p.enqueue(p.allocate) }, CongestedLoss: probeMaxLoss})
	p.bwe.setEstimator(est)
	var keys *srtpkeys.Recorder
	if e.ownSend {
		keys = &srtpkeys.Recorder{}
		p.direct = newDirectSend(keys, e.conns, est, p.log)
	}
	var err error
	if p.sub, err = e.newSubscriberConnection(est, keys); err != nil {
		return nil, fmt.Errorf("sfu: subscriber connection: %w", err)
	}
	p.pacer = newPacer(cfg.Now, initialEstimate, e.batch, e.slots)
	p.watch(TargetSubscriber, p.sub)
	p.wg.Add(1)
	go p.run()
	return p, nil
}

// publisher returns the publisher connection, or nil before the first
// publisher offer.
func (p *Peer) publisher() *webrtc.PeerConnection {
	p.pubPCMu.Lock()
	defer p.pubPCMu.Unlock()
	return p.pub
}

// publisherOrNew returns the publisher connection, making it the first time.
func (p *Peer) publisherOrNew() (*webrtc.PeerConnection, error) {
	p.pubPCMu.Lock()
	defer p.pubPCMu.Unlock()
	if p.pubClosed {
		return nil, ErrClosed
	}
	if p.pub != nil {
		return p.pub, nil
	}
	pc, err := p.engine.newPublisherConnection()
	if err != nil {
		return nil, fmt.Errorf("sfu: publisher connection: %w", err)
	}
	p.watch(TargetPublisher, pc)
	pc.OnTrack(p.onRemoteTrack)
	p.pub = pc
	return pc, nil
}

// watch relays pc's candidates and follows its state.
func (p *Peer) watch(target string, pc *webrtc.PeerConnection) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && p.cfg.OnCandidate != nil {
			p.cfg.OnCandidate(target, c.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("connection state", "target", target, "state", s.String())
		first, back := p.stateOf(target).observe(s)
		switch {
		case target == TargetSubscriber && (first || back):
			if first && p.direct != nil {
				ice := pc.SCTP().Transport().ICETransport()
				p.goroutine(func() { // it asks the ICE agent, whose goroutine may be the caller's
					if err := p.direct.start(ice); err != nil {
						p.log.Info("own send path not taken: pion's carries this subscriber", "err", err)
					}
				})
			}
			// Video starts within one keyframe of connecting, and of coming back
			// after an outage (an ICE restart): the decoder lost packets meanwhile.
			p.enqueue(p.requestKeyframes)
		case target == TargetPublisher && back:
			// What the subscribers decode lost packets that never reached us,
			// so no NACK can mend it.
			p.goroutine(p.requestPublishedKeyframes)
		}
		if p.cfg.OnState != nil {
			p.cfg.OnState(target, s)
		}
	})
}

// connState follows one peer connection's state for what it means to media:
// its first connection, and each return from an outage.
type connState struct {
	connected atomic.Bool // it has been connected
	broken    atomic.Bool // it went disconnected, failed or connecting since it last was
}

// observe records s. first: s is the connection's first connected state;
// back: s is connected again after an outage. Connecting again after being
// connected means an ICE restart: the client found its path dead (often
// before ICE itself says disconnected).
func (c *connState) observe(s webrtc.PeerConnectionState) (first, back bool) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		first = !c.connected.Swap(true)
		back = c.broken.Swap(false)
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateConnecting:
		if c.connected.Load() {
			c.broken.Store(true)
		}
	}
	return first, back
}

func (p *Peer) stateOf(target string) *connState {
	if target == TargetSubscriber {
		return &p.subState
	}
	return &p.pubState
}

// ID is the member's user ID.
func (p *Peer) ID() string { return p.cfg.ID }

// goroutine starts f unless the peer is closed; Close waits for it.
func (p *Peer) goroutine(f func()) bool {
	p.wgMu.Lock()
	defer p.wgMu.Unlock()
	if p.isClosed {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

// HandleOffer applies the client's publisher offer and returns the answer.
// sources says what the offer's sending m-lines carry, by mid (a screen is
// the aux stream); a mid it does not name carries a camera or a microphone.
func (p *Peer) HandleOffer(offer string, sources map[string]Source) (answer string, err error) {
	defer recoverInto(&err)
	if len(sources) > maxSources {
		return "", fmt.Errorf("%w: %d sources; at most %d", ErrBadSource, len(sources), maxSources)
	}
	if err := p.checkPublish(offer, sources); err != nil {
		return "", err
	}
	pc, err := p.publisherOrNew()
	if err != nil {
		return "", err
	}
	p.learnOffer(offer, sources)
	if err := p.applyOffer(pc, offer); err != nil {
		return "", err
	}
	if p.cfg.PreferVideo != "" {
		p.preferVideo(pc)
	}
	return p.answer(pc)
}

// answer answers the remote offer applied to pc, with every server candidate
// when the config says NoTrickle.
func (p *Peer) answer(pc *webrtc.PeerConnection) (string, error) {
	var gathered <-chan struct{}
	if p.cfg.NoTrickle {
		gathered = webrtc.GatheringCompletePromise(pc)
	}
	a, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: cannot answer: %v", ErrBadSDP, err)
	}
	if err := pc.SetLocalDescription(a); err != nil {
		return "", fmt.Errorf("sfu: set answer: %w", err)
	}
	if gathered == nil {
		return a.SDP, nil
	}
	timer := time.NewTimer(gatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		p.log.Warn("ICE gathering did not finish: answering with the candidates found so far", "after", gatherTimeout)
	case <-p.done:
		return "", ErrClosed
	}
	return pc.LocalDescription().SDP, nil
}

// preferVideo reorders each video m-line's negotiated codecs so that
// PreferVideo comes first (the offerer sends the answer's first codec).
func (p *Peer) preferVideo(pc *webrtc.PeerConnection) {
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		codecs := slices.Clone(tr.Receiver().GetParameters().Codecs) // sorted below: not pion's own slice
		if slices.IsSortedFunc(codecs, p.preferredFirst) {
			continue // already first, or not offered
		}
		slices.SortStableFunc(codecs, p.preferredFirst)
		if err := tr.SetCodecPreferences(codecs); err != nil {
			p.log.Debug("cannot prefer a video codec", "codec", p.cfg.PreferVideo, "err", err)
		}
	}
}

// preferredFirst orders PreferVideo before the other codecs.
func (p *Peer) preferredFirst(a, b webrtc.RTPCodecParameters) int {
	rank := func(c webrtc.RTPCodecParameters) int {
		if strings.EqualFold(c.MimeType, p.cfg.PreferVideo) {
			return 0
		}
		return 1
	}
	return rank(a) - rank(b)
}

// gatherTimeout bounds how long an answer waits for the server's candidates.
// Host candidates are there at once; a STUN server that does not answer
// must not hold a WHIP client up.
const gatherTimeout = 3 * time.Second

// applyOffer sets the publisher offer and then adds the candidates that came
// before it.
func (p *Peer) applyOffer(pc *webrtc.PeerConnection, offer string) error {
	p.earlyMu.Lock()
	defer p.earlyMu.Unlock()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	p.offerSet = true
	for _, c := range p.early {
		if err := pc.AddICECandidate(c); err != nil {
			p.log.Debug("a candidate sent before the offer does not fit it", "candidate", c.Candidate, "err", err)
		}
	}
	p.early = nil
	return nil
}

// maxEarlyCandidates bounds the candidates a client may send before its
// first offer (a browser gathers a handful per interface).
const maxEarlyCandidates = 32

// addPublisherCandidate adds c, or keeps it until the first offer is applied.
func (p *Peer) addPublisherCandidate(pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) error {
	p.earlyMu.Lock()
	defer p.earlyMu.Unlock()
	if !p.offerSet {
		// Checked now as pion would check it: a bad one must be refused while
		// the client can still tell which message it was.
		if _, err := ice.UnmarshalCandidate(strings.TrimPrefix(c.Candidate, "candidate:")); err != nil {
			return fmt.Errorf("%w: candidate: %v", ErrBadSDP, err)
		}
		if len(p.early) >= maxEarlyCandidates {
			return fmt.Errorf("%w: more than %d candidates before the publisher offer: send the offer first", ErrBadSDP, maxEarlyCandidates)
		}
		p.early = append(p.early, c)
		return nil
	}
	if err := pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadSDP, err)
	}
	return nil
}

// checkPublish refuses an offer that sends media the member may not send, or
// names a source that its m-line cannot carry.
func (p *Peer) checkPublish(offer string, sources map[string]Source) error {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	for _, md := range sd.MediaDescriptions {
		kind := webrtc.NewRTPCodecType(md.MediaName.Media)
		if kind == 0 || !sends(md) {
			continue
		}
		mid, _ := md.Attribute("mid")
		src, named := sources[mid]
		if !named {
			src = defaultSource(kind)
		}
		if !src.fits(kind) {
			return fmt.Errorf("%w: m-line %q is %s, which cannot carry %q", ErrBadSource, mid, kind, src)
		}
		if !p.cfg.Permissions.maySend(kind, src) {
			switch {
			case src.IsScreen():
				return fmt.Errorf("%w: send aux video (a shared screen)", ErrNotAllowed)
			case kind == webrtc.RTPCodecTypeAudio:
				return fmt.Errorf("%w: send audio", ErrNotAllowed)
			}
			return fmt.Errorf("%w: send video", ErrNotAllowed)
		}
	}
	return nil
}

func sends(md *sdp.MediaDescription) bool {
	if md.MediaName.Port.Value == 0 {
		return false // rejected m-line
	}
	for _, a := range md.Attributes {
		switch a.Key {
		case "recvonly", "inactive":
			return false
		case "sendonly", "sendrecv":
			return true
		}
	}
	return true // sendrecv is the default
}

// HandleAnswer applies the client's answer to the last subscriber offer.
func (p *Peer) HandleAnswer(answer string) error {
	return p.call(func() error { return p.applyAnswer(answer) })
}

// call runs f on the peer's goroutine and returns its error (ErrClosed when
// the peer closes first).
func (p *Peer) call(f func() error) error {
	errc := make(chan error, 1)
	if !p.enqueue(func() { errc <- f() }) {
		return ErrClosed
	}
	select {
	case err := <-errc:
		return err
	case <-p.done:
		return ErrClosed
	}
}

func (p *Peer) applyAnswer(answer string) (err error) {
	defer recoverInto(&err)
	if !p.awaitingAnswer {
		return ErrNoOffer
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	p.awaitingAnswer = false
	return nil
}

// AddCandidate adds a client ICE candidate to the target connection.
func (p *Peer) AddCandidate(target string, c webrtc.ICECandidateInit) (err error) {
	defer recoverInto(&err)
	if strings.TrimSpace(c.Candidate) == "" {
		return nil // end of candidates
	}
	var pc *webrtc.PeerConnection
	switch target {
	case TargetPublisher:
		if pc, err = p.publisherOrNew(); err != nil { // a candidate may overtake its offer
			return err
		}
		return p.addPublisherCandidate(pc, c)
	case TargetSubscriber:
		pc = p.sub
	default:
		return ErrBadTarget
	}
	if err := pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadSDP, err)
	}
	return nil
}

// AddTrack subscribes the peer to t if it may receive that kind. It does not block.
func (p *Peer) AddTrack(t *Track) {
	if !p.cfg.Permissions.mayReceive(t) || (p.cfg.Accept != nil && !p.cfg.Accept(t)) {
		return
	}
	p.enqueue(func() { p.subscribe(t) })
}

// RestartICE makes the server offer the subscriber connection again with new
// ICE credentials (the client's network changed): at once, or as soon as the
// answer awaited now is in. The publisher side restarts from the client's
// offer. It does not block.
func (p *Peer) RestartICE() {
	p.enqueue(func() { p.iceRestart, p.dirty = true, true })
}

// RemoveTrack unsubscribes the peer from t. It does not block.
func (p *Peer) RemoveTrack(t *Track) { p.enqueue(func() { p.unsubscribe(t) }) }

func (p *Peer) enqueue(op func()) bool {
	select {
	case <-p.done:
		return false
	default:
	}
	p.opsMu.Lock()
	p.ops = append(p.ops, op)
	p.opsMu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// run owns the subscriber connection's tracks, negotiation and allocation.
func (p *Peer) run() {
	defer p.wg.Done()
	tick := time.NewTicker(allocInterval)
	defer tick.Stop()
	reports := time.NewTicker(senderReportInterval)
	defer reports.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
			p.allocate()
			continue
		case <-reports.C:
			p.sendSenderReports()
			continue
		case <-p.wake:
		}
		p.opsMu.Lock()
		ops := p.ops
		p.ops = nil
		p.opsMu.Unlock()
		for _, op := range ops {
			op()
		}
		if p.dirty && !p.awaitingAnswer && !p.cfg.Answerer {
			p.offer()
		}
	}
}

func (p *Peer) subscribe(t *Track) {
	if _, ok := p.subs[t]; ok {
		return
	}
	select {
	case <-t.Done():
		return // unpublished before we got to it
	default:
	}
	dt := newDownTrack(t, p.pacer, p.now)
	dt.direct = p.direct
	dt.onBind = func() {
		if p.subState.connected.Load() { // renegotiated onto a live connection
			t.RequestLayerKeyframe(dt.TargetLayer())
		}
	}
	var sender *webrtc.RTPSender
	if p.cfg.Answerer {
		if sender = p.bindAnswered(t, dt); sender == nil {
			return
		}
	} else {
		var err error
		if sender, err = p.sub.AddTrack(dt); err != nil {
			p.log.Warn("cannot forward track", "track", t.ID(), "owner", t.Owner(), "err", err)
			return
		}
		p.goroutine(func() { p.readSubscriberRTCP(sender, func() *DownTrack { return dt }) })
	}
	p.subs[t] = &subscription{down: dt, sender: sender, settings: TrackSettings{Visible: true}}
	t.AddSink(dt)
	p.dirty = true
	p.allocate()
}

func (p *Peer) unsubscribe(t *Track) {
	s, ok := p.subs[t]
	if !ok {
		p.answerer.forget(t)
		return
	}
	delete(p.subs, t)
	t.RemoveSink(s.down)
	p.allocate()
	if p.cfg.Answerer {
		p.unbindAnswered(s)
		return
	}
	if err := p.sub.RemoveTrack(s.sender); err != nil {
		p.log.Debug("remove track", "track", t.ID(), "err", err)
	}
	p.dirty = true
}

// publishedTracks is a snapshot of the tracks this client publishes.
func (p *Peer) publishedTracks() []*Track {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	tracks := make([]*Track, 0, len(p.published))
	for _, pt := range p.published {
		tracks = append(tracks, pt.track)
	}
	return tracks
}

// requestPublishedKeyframes asks this client for a keyframe of every layer
// of every track it publishes.
func (p *Peer) requestPublishedKeyframes() {
	for _, t := range p.publishedTracks() {
		t.RequestKeyframe()
	}
}

func (p *Peer) requestKeyframes() {
	for t, s := range p.subs {
		t.RequestLayerKeyframe(s.down.TargetLayer())
	}
}

func (p *Peer) offer() {
	p.dirty = false
	if len(p.sub.GetTransceivers()) == 0 {
		return // nothing to receive yet
	}
	var opts *webrtc.OfferOptions
	if p.iceRestart {
		opts, p.iceRestart = &webrtc.OfferOptions{ICERestart: true}, false
	}
	o, err := p.sub.CreateOffer(opts)
	if err == nil {
		err = p.sub.SetLocalDescription(o)
	}
	if err != nil {
		p.log.Warn("subscriber offer failed", "err", err)
		return
	}
	p.awaitingAnswer = true
	if p.cfg.OnOffer != nil {
		p.cfg.OnOffer(o.SDP)
	}
}

// readSubscriberRTCP handles one subscriber track's feedback: keyframe
// requests go to the publisher (for the layer being forwarded), or replay the
// cached GOP when the publisher cannot make keyframes on demand; NACKs are
// answered from the track's cache, REMB feeds the estimate of clients without
// transport-cc, receiver reports feed the connection quality.
//
// The datagrams are read in place (rtcpin): one buffer per reader, nothing
// allocated per report. A malformed datagram is logged and skipped; what came
// before the fault in it still counts.
func (p *Peer) readSubscriberRTCP(sender *webrtc.RTPSender, current func() *DownTrack) {
	buf := make([]byte, maxPacketSize)
	var seqs []uint16
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		d := current()
		if d == nil {
			continue // an answered m-line whose track ended
		}
		t := d.track
		now := p.now()
		p.lastHeard.Store(now.UnixNano())
		p.engine.batch.Cork() // the resends a NACK asks for leave together
		err = rtcpin.Walk(buf[:n], func(pkt rtcpin.Packet) bool {
			if pkt.IsKeyframeRequest() {
				d.pictureLost()
			} else if nacked, ok := pkt.NACKs(seqs[:0]); ok {
				seqs = nacked
				t.CountNACKs(len(seqs))
				p.bwe.onNACK()
				d.handleNACK(seqs)
			} else if bitrate, ok := pkt.REMB(); ok {
				p.bwe.onREMB(bitrate)
			} else {
				pkt.Reports(func(r rtcpin.Report) { d.onReceiverReport(r, now) })
			}
			return true
		})
		p.engine.batch.Uncork()
		if err != nil {
			p.log.Debug("subscriber RTCP skipped", "err", err)
		}
	}
}

// onRemoteTrack forwards a track (or one simulcast layer of it) the client sends.
func (p *Peer) onRemoteTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	kind := remote.Kind()
	p.pubMu.Lock()
	src := p.sourceLocked(receiver, kind)
	if !p.cfg.Permissions.maySend(kind, src) {
		p.pubMu.Unlock()
		p.log.Warn("dropping track the member may not send", "kind", kind.String(), "source", src)
		return
	}
	pt, exists := p.published[receiver]
	if !exists {
		pt = p.newPubTrackLocked(remote, receiver, src)
		p.published[receiver] = pt
	}
	t := pt.track
	idx := 0
	if rid := remote.RID(); rid != "" {
		idx = slices.Index(t.RIDs(), rid)
	}
	p.wgMu.Lock()
	if p.isClosed || idx < 0 {
		p.wgMu.Unlock()
		p.pubMu.Unlock()
		if idx < 0 {
			p.log.Warn("dropping a simulcast layer the offer did not announce", "rid", remote.RID())
		}
		return
	}
	pt.open++
	p.wg.Add(2)
	p.wgMu.Unlock()
	p.pubMu.Unlock()

	go func() {
		defer p.wg.Done()
		p.readPublisherRTCP(receiver, remote.RID(), t, idx)
	}()
	defer p.wg.Done()
	if !exists {
		p.log.Info("track published", "track", t.ID(), "codec", t.Codec().MimeType, "layers", t.Layers())
		if p.cfg.OnTrack != nil {
			p.cfg.OnTrack(t)
		}
	}
	forward(remote, t, idx, p.engine.batch, p.engine.arrivals)
	p.pubMu.Lock()
	pt.open--
	last := pt.open == 0
	if last {
		delete(p.published, receiver)
	}
	p.pubMu.Unlock()
	if last {
		t.Close()
		if p.cfg.OnTrackEnded != nil {
			p.cfg.OnTrackEnded(t)
		}
	}
}

// newPubTrackLocked creates the Track for a receiver's first layer.
// midOf is the mid of the publisher's transceiver that receives with receiver.
func (p *Peer) midOf(receiver *webrtc.RTPReceiver) string {
	for _, tr := range p.publisher().GetTransceivers() { // made: it has a track
		if tr.Receiver() == receiver {
			return tr.Mid()
		}
	}
	return ""
}

// sourceLocked is what the track received with receiver carries, as the offer said.
func (p *Peer) sourceLocked(receiver *webrtc.RTPReceiver, kind webrtc.RTPCodecType) Source {
	if pt, ok := p.published[receiver]; ok {
		return pt.track.Source()
	}
	if src, ok := p.sources[p.midOf(receiver)]; ok && src.fits(kind) {
		return src
	}
	return defaultSource(kind)
}

// newPubTrackLocked makes the Track for a new remote track carrying src.
func (p *Peer) newPubTrackLocked(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver, src Source) *pubTrack {
	mid := p.midOf(receiver)
	var rids []string
	if remote.RID() != "" {
		rids = p.rids[mid]
		if !slices.Contains(rids, remote.RID()) {
			rids = []string{remote.RID()}
		}
	}
	var audioLevel uint8
	for _, h := range receiver.GetParameters().HeaderExtensions {
		if h.URI == sdp.AudioLevelURI {
			audioLevel = uint8(h.ID)
		}
	}
	pt := &pubTrack{mid: mid}
	var t *Track
	var sendNACK func(int, []uint16)
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		sendNACK = func(layer int, seqs []uint16) {
			if ssrc := t.layers[layer].ssrc.Load(); ssrc != 0 {
				_ = p.publisher().WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
					MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}})
			}
		}
	}
	t = NewTrack(TrackOptions{
		ID:    fmt.Sprintf("%s-%s-%d", p.cfg.ID, remote.Kind().String(), uint32(remote.SSRC())),
		Owner: p.cfg.ID, Kind: remote.Kind(), Source: src,
		Codec: remote.Codec().RTPCodecCapability, RIDs: rids,
		AudioLevelExtension: audioLevel, Now: p.now, Spreader: p.engine.spread,
		RequestLayerKeyframe: func(layer int) {
			if ssrc := t.layers[layer].ssrc.Load(); ssrc != 0 {
				p.log.Debug("keyframe request", "track", t.ID(), "layer", layer)
				_ = p.publisher().WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
			}
		},
		SendNACK: sendNACK,
		OnLayers: func(highest int) {
			if p.cfg.OnPublishLayers != nil {
				p.cfg.OnPublishLayers(t.ID(), mid, rids[:highest+1])
			}
		},
	})
	pt.track = t
	return pt
}

// readPublisherRTCP drains a layer's RTCP (the interceptors need it read)
// and keeps its sender reports' NTP/RTP mapping.
func (p *Peer) readPublisherRTCP(receiver *webrtc.RTPReceiver, rid string, t *Track, layer int) {
	for {
		var pkts []rtcp.Packet
		var err error
		if rid != "" {
			pkts, _, err = receiver.ReadSimulcastRTCP(rid)
		} else {
			pkts, _, err = receiver.ReadRTCP()
		}
		if err != nil {
			return
		}
		p.lastHeard.Store(p.now().UnixNano())
		for _, pkt := range pkts {
			if sr, ok := pkt.(*rtcp.SenderReport); ok {
				t.SetSenderReport(layer, sr.NTPTime, sr.RTPTime)
			}
		}
	}
}

// learnOffer records the simulcast layers of each m-line of an offer, ordered
// q < h < f (the SDK's names, lowest first; other names keep their order), and
// the sources the client named for them.
func (p *Peer) learnOffer(offer string, sources map[string]Source) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	for _, md := range sd.MediaDescriptions {
		mid, _ := md.Attribute("mid")
		if src, ok := sources[mid]; ok && mid != "" {
			p.sources[mid] = src // a track keeps the source it was published with
		}
		var rids []string
		for _, a := range md.Attributes {
			if a.Key == "rid" {
				name, dir, _ := strings.Cut(a.Value, " ")
				if strings.HasPrefix(dir, "send") {
					rids = append(rids, name)
				}
			}
		}
		if mid == "" || len(rids) == 0 {
			continue
		}
		slices.SortStableFunc(rids, func(a, b string) int { return ridRank(a) - ridRank(b) })
		p.rids[mid] = rids
	}
}

func ridRank(rid string) int {
	switch rid {
	case "q":
		return 0
	case "h":
		return 1
	case "f":
		return 2
	}
	return 3
}

// forward reads RTP of one layer from remote into t until the track ends.
// Its goroutine reads; a second one hands on, in one batch, whatever was read
// while it handed on the last (Track.WriteLayerBatch). In steady state that
// is one packet. A keyframe reaches the server at once, and while its first
// packet goes to every subscriber the rest arrive: they go to each
// subscriber in one run, which the socket sends as one segmented message,
// at a third of the kernel's cost per packet (internal/udpbatch). arrivals
// (may be nil) says when each packet reached the socket.
func forward(remote *webrtc.TrackRemote, t *Track, layer int, batch Batcher, arrivals *twcc.ArrivalTable) {
	slots := forwardSlots
	if t.Kind() == webrtc.RTPCodecTypeAudio {
		slots = forwardAudioSlots // audio comes a packet at a time
	}
	q := newForwardQueue(slots)
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.handOn(t, layer, batch)
	}()
	defer func() {
		close(q.ready)
		<-done
	}()
	for {
		s := <-q.free // waits while the hand-on goroutine holds every slot
		n, _, err := remote.Read(s.buf)
		if err != nil {
			return
		}
		if err := s.pkt.Unmarshal(s.buf[:n]); err != nil {
			q.free <- s
			continue
		}
		s.received = 0
		if arrivals != nil {
			s.received, _ = arrivals.Lookup(s.pkt.SSRC, s.pkt.SequenceNumber)
		}
		q.ready <- s
	}
}

// Slots between a layer's reader and its hand-on goroutine: a keyframe's
// packets for video (more wait in pion's buffer), a few for audio.
const (
	forwardSlots      = MaxBatch
	forwardAudioSlots = 4
)

// forwardSlot is one packet read, waiting to be handed on.
type forwardSlot struct {
	buf      []byte
	pkt      rtp.Packet
	received int64
}

// forwardQueue passes read packets from a layer's reader to its hand-on
// goroutine. Its slots go round: free to the reader, ready to the hand-on
// goroutine, free again once handed on. Nothing is allocated per packet.
type forwardQueue struct {
	free, ready chan *forwardSlot
	batch       []*forwardSlot   // owned by the hand-on goroutine
	pkts        []ReceivedPacket // owned by the hand-on goroutine
}

func newForwardQueue(n int) *forwardQueue {
	q := &forwardQueue{free: make(chan *forwardSlot, n), ready: make(chan *forwardSlot, n),
		batch: make([]*forwardSlot, 0, n), pkts: make([]ReceivedPacket, 0, n)}
	for range n {
		q.free <- &forwardSlot{buf: make([]byte, 1500)}
	}
	return q
}

// handOn hands the ready packets on to t until ready is closed: it waits for
// one, then takes every other already there.
func (q *forwardQueue) handOn(t *Track, layer int, batch Batcher) {
	for s := range q.ready {
		q.batch = append(q.batch[:0], s)
	more:
		for len(q.batch) < cap(q.batch) {
			select {
			case s, ok := <-q.ready:
				if !ok {
					break more
				}
				q.batch = append(q.batch, s)
			default:
				break more
			}
		}
		q.pkts = q.pkts[:0]
		for _, s := range q.batch {
			q.pkts = append(q.pkts, ReceivedPacket{Packet: &s.pkt, Received: s.received})
		}
		batch.Cork() // the batch to every subscriber: one batch of sends
		t.WriteLayerBatch(layer, q.pkts)
		batch.Uncork()
		for i, s := range q.batch {
			q.pkts[i] = ReceivedPacket{}
			q.free <- s
		}
	}
}

// Close closes both connections and waits for every goroutine of the peer.
func (p *Peer) Close() {
	p.closed.Do(func() {
		p.wgMu.Lock()
		p.isClosed = true
		p.wgMu.Unlock()
		close(p.done)
		p.pubPCMu.Lock()
		pub := p.pub
		p.pubClosed = true
		p.pubPCMu.Unlock()
		if pub != nil {
			_ = pub.Close()
		}
		_ = p.sub.Close()
		p.wg.Wait()
		p.pacer.close()
		for t, s := range p.subs {
			t.RemoveSink(s.down)
		}
	})
}

// recoverInto turns a panic inside pion (on hostile input) into an error, so one
// bad client cannot take the server down.
func recoverInto(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: rejected (%v)", ErrBadSDP, r)
	}
}
