package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/pionlog"
	"github.com/openroom/openroom/sfu/srtpkeys"
	"github.com/openroom/openroom/sfu/twcc"
)

// Codec payload types the server offers. H.264 comes first: the mini-program bridge
// passes it through to RTMP/FLV without transcoding.
const (
	PayloadTypeH264 = 102
	PayloadTypeVP8  = 96
	PayloadTypeOpus = 111
)

// H264Fmtp is the only H.264 flavour the SFU negotiates: constrained baseline,
// packetization-mode 1, which every browser and the RTMP bridge handle.
const H264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// ErrNoUDP means the engine was built without a UDP socket for ICE.
var ErrNoUDP = errors.New("sfu: WebRTC is disabled (no rtc port)")

// EngineConfig configures how peer connections are built.
type EngineConfig struct {
	// UDP carries all ICE traffic of all peers (one port, demultiplexed by ICE ufrag).
	UDP net.PacketConn
	// UDPs, when set instead, are several sockets on one port, one per local
	// address: each answers from the address its peers send to.
	UDPs []net.PacketConn
	// NodeIPs, when set, replace the host candidates' addresses (NAT, containers).
	NodeIPs []string
	// IncludeLoopback lets tests on 127.0.0.1 connect.
	IncludeLoopback bool
	// Arrivals, when set, has the time each packet reached the socket (the
	// socket's reader records them): publishers' transport-cc feedback reports
	// those rather than when the packet was read. Usually UDP's ObserveReads
	// feeds it.
	Arrivals *twcc.ArrivalTable
	// Batch, when set, is told when a goroutine starts and ends a burst of sends
	// on UDP (one publisher packet to every subscriber, a pacer's batch), so that
	// it can hand them to the kernel together. Usually UDP itself (udpbatch.Conn).
	Batch Batcher
	// Spreader, when set, spreads the fan-out of published tracks with many
	// subscribers over several cores. The caller owns it and closes it after
	// every peer is closed.
	Spreader *Spreader
	// PionSendPath keeps subscribers' RTP on pion's send path instead of the
	// engine's own (direct.go): for comparisons.
	PionSendPath bool
	Logger       *slog.Logger
}

// Batcher holds a socket's writes back from Cork to the matching Uncork and
// then sends them together. Calls nest and come from many goroutines.
type Batcher interface {
	Cork()
	Uncork()
}

// noBatch sends every write at once.
type noBatch struct{}

func (noBatch) Cork()   {}
func (noBatch) Uncork() {}

// Engine builds the server's PeerConnections: codecs, interceptors and the shared UDP mux.
// Publisher connections share one API; each subscriber connection gets its own,
// so its congestion controller (one per connection) reaches its Peer.
type Engine struct {
	pubAPI   *webrtc.API
	se       webrtc.SettingEngine
	batch    Batcher
	conns    []net.PacketConn   // the ICE sockets, for the own send path
	ownSend  bool               // subscribers send RTP on the own path (direct.go)
	arrivals *twcc.ArrivalTable // when packets reached the socket; nil: unknown
	slots    *sync.Pool         // the pacers' packet slots, shared by every subscriber
	spread   *Spreader          // nil: fan-out on the reading goroutine
	log      *slog.Logger
}

// NewEngine prepares the WebRTC API. The caller owns cfg.UDP (cfg.UDPs) and
// closes it after every peer is closed.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	conns := cfg.UDPs
	if cfg.UDP != nil {
		conns = append([]net.PacketConn{cfg.UDP}, conns...)
	}
	if len(conns) == 0 {
		return nil, ErrNoUDP
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	logs := pionlog.Factory{Log: cfg.Logger}
	se := webrtc.SettingEngine{LoggerFactory: logs}
	if len(conns) == 1 {
		se.SetICEUDPMux(webrtc.NewICEUDPMux(logs.NewLogger("udpmux"), conns[0]))
	} else {
		muxes := make([]ice.UDPMux, len(conns))
		for i, c := range conns {
			muxes[i] = ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: logs.NewLogger("udpmux"), UDPConn: c})
		}
		se.SetICEUDPMux(ice.NewMultiUDPMuxDefault(muxes...))
	}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// Browsers with camera permission announce real addresses, and peer-reflexive
	// candidates cover the rest; mDNS would only add multicast chatter.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(cfg.NodeIPs) > 0 {
		se.SetNAT1To1IPs(cfg.NodeIPs, webrtc.ICECandidateTypeHost)
	}
	m, err := NewMediaEngine()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := publisherInterceptors(m, ir, cfg.Arrivals); err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	if cfg.Batch == nil {
		cfg.Batch = noBatch{}
	}
	return &Engine{conns: conns, ownSend: !cfg.PionSendPath, pubAPI: api, se: se, batch: cfg.Batch, arrivals: cfg.Arrivals, slots: newSlotPool(), spread: cfg.Spreader, log: cfg.Logger}, nil
}

// publisherInterceptors: receiver reports, transport-cc feedback (the
// browser's own congestion control needs it), simulcast RIDs, RTX (resends on
// their own stream, repaired RIDs included) and the audio level of published
// audio. NACKs are the tracks' own (nack.go): a packet resent over RTX reaches
// only the track under its original sequence number, so pion's generator would
// ask for it again and again.
func publisherInterceptors(m *webrtc.MediaEngine, ir *interceptor.Registry, arrivals *twcc.ArrivalTable) error {
	for _, c := range videoPreference {
		rtx := webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000,
				SDPFmtpLine: fmt.Sprintf("apt=%d", c.PayloadType)},
			PayloadType: c.PayloadType + 1,
		}
		if err := m.RegisterCodec(rtx, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("sfu: register rtx for %s: %w", c.MimeType, err)
		}
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return fmt.Errorf("sfu: rtcp reports: %w", err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return fmt.Errorf("sfu: simulcast: %w", err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("sfu: audio level: %w", err)
	}
	// transport-cc feedback with the times packets reached the socket (the
	// codecs list transport-cc feedback already).
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return fmt.Errorf("sfu: transport-cc feedback: %w", err)
		}
	}
	ir.Add(twcc.NewReporterFactory(arrivals, nil))
	return nil
}

// subscriberAPI builds the API of one subscriber connection: transport-cc on
// every packet feeding est (the downlink estimate). NACKs
// are answered by the DownTracks from the shared packet caches, so pion's NACK
// responder (a copy of every packet per subscriber) is not used.
func (e *Engine) subscriberAPI(est *twcc.Estimator, keys *srtpkeys.Recorder) (*webrtc.API, error) {
	m, err := NewMediaEngine()
	if err != nil {
		return nil, err
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, fmt.Errorf("sfu: transport-cc: %w", err)
		}
	}
	// No RTCP report interceptors: the connection receives no media (no
	// receiver reports to make), and the sender reports come from the down
	// tracks' own counters (senderreport.go) instead of an interceptor that
	// takes a lock on every packet sent.
	ir := &interceptor.Registry{}
	ir.Add(twcc.NewFactory(est))
	se := e.se // this connection's copy
	if keys != nil {
		se.SetDTLSKeyLogWriter(keys)
		se.SetDTLSServerHelloMessageHook(keys.ServerHello)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// videoFeedback is the RTCP feedback every video codec is negotiated with.
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"}, {Type: "transport-cc"}, {Type: "ccm", Parameter: "fir"},
	{Type: "nack"}, {Type: "nack", Parameter: "pli"},
}

// videoPreference lists the video codecs in the order the server prefers them.
var videoPreference = []webrtc.RTPCodecParameters{
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: H264Fmtp, RTCPFeedback: videoFeedback}, PayloadType: PayloadTypeH264},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, PayloadType: PayloadTypeVP8},
}

// NewMediaEngine registers H.264 (first), VP8 and Opus with the feedback the SFU relies on.
func NewMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range videoPreference {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("sfu: register %s: %w", c.MimeType, err)
		}
	}
	opus := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: "transport-cc"}}},
		PayloadType:        PayloadTypeOpus,
	}
	if err := m.RegisterCodec(opus, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("sfu: register opus: %w", err)
	}
	return m, nil
}

func (e *Engine) newPublisherConnection() (*webrtc.PeerConnection, error) {
	return e.pubAPI.NewPeerConnection(webrtc.Configuration{SDPSemantics: webrtc.SDPSemanticsUnifiedPlan})
}

func (e *Engine) newSubscriberConnection(est *twcc.Estimator, keys *srtpkeys.Recorder) (*webrtc.PeerConnection, error) {
	api, err := e.subscriberAPI(est, keys)
	if err != nil {
		return nil, err
	}
	return api.NewPeerConnection(webrtc.Configuration{SDPSemantics: webrtc.SDPSemanticsUnifiedPlan})
}
