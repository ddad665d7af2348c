package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/pionlog"
)

// The codecs a browser offers that openroom accepts (docs/protocol.md, "Media
// details"), with the payload types and feedback Chromium uses.
const (
	payloadTypeH264 = 102
	payloadTypeVP8  = 96
	payloadTypeOpus = 111
	h264Fmtp        = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
)

var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"}, {Type: "transport-cc"}, {Type: "ccm", Parameter: "fir"},
	{Type: "nack"}, {Type: "nack", Parameter: "pli"},
}

// newAPI builds the pion API of the load generator's members: H.264, VP8 and Opus,
// pion's default interceptors (NACK, sender and receiver reports, TWCC feedback,
// like a browser), ICE over UDP4 on localIP only (any address when empty). A
// publishing API also sends the audio-level extension's negotiation and stamps
// transport-wide sequence numbers, as browsers do. nw, when not nil, is the
// network its sockets are opened on.
func newAPI(localIP string, publish bool, nw transport.Net, log *slog.Logger) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	codecs := []struct {
		c    webrtc.RTPCodecParameters
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp, RTCPFeedback: videoFeedback}, PayloadType: payloadTypeH264}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, PayloadType: payloadTypeVP8}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: "transport-cc"}}}, PayloadType: payloadTypeOpus}, webrtc.RTPCodecTypeAudio},
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c.c, c.kind); err != nil {
			return nil, fmt.Errorf("loadgen: register %s: %w", c.c.MimeType, err)
		}
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("loadgen: audio level extension: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("loadgen: interceptors: %w", err)
	}
	if publish {
		if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, ir); err != nil {
			return nil, fmt.Errorf("loadgen: transport-cc: %w", err)
		}
	}
	se := webrtc.SettingEngine{LoggerFactory: pionlog.Factory{Log: log}}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if nw != nil {
		se.SetNet(nw)
	}
	if localIP != "" {
		want := net.ParseIP(localIP)
		if want == nil {
			return nil, fmt.Errorf("loadgen: local IP %q is not an IP address", localIP)
		}
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(want) })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// signaling is the default Server: openroom's public signaling protocol
// (docs/protocol.md) at baseURL, with open login.
type signaling struct {
	hc             *http.Client
	pubAPI, subAPI *webrtc.API
	baseURL        string
}

func (s *signaling) Subscribe(ctx context.Context, room string, m *Member) (Conn, error) {
	return joinRoom(ctx, s.hc, s.subAPI, s.baseURL, room, m, nil)
}

// member is one room member on openroom's signaling: a WebSocket
// (docs/protocol.md) with a subscriber connection (the server offers, the
// member answers) and, when it publishes, a publisher connection (the member
// offers).
type member struct {
	*Member

	ws  *websocket.Conn
	wmu sync.Mutex // guards writes to ws

	sub *webrtc.PeerConnection
	pub *webrtc.PeerConnection // nil unless publishing; set before the read loop can see an answer

	// Only the read loop touches pending: candidates that came before their
	// connection's remote description.
	pending map[string][]webrtc.ICECandidateInit

	joined chan error    // the answer to join: nil or the error
	done   chan struct{} // closed when the read loop ends

	wg        sync.WaitGroup // the read loop (media readers end when their connection closes)
	closeOnce sync.Once
}

// login asks the room API for a userSig (open login: docs/api.md, get_login_info).
func login(ctx context.Context, hc *http.Client, baseURL, userID string) (string, error) {
	body, _ := json.Marshal(map[string]string{"userID": userID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/weapp/webrtc_room/get_login_info", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("loadgen: get_login_info: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		text, _ := io.ReadAll(io.LimitReader(res.Body, 300))
		return "", fmt.Errorf("loadgen: get_login_info: HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(text)))
	}
	var ans struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		UserSig string `json:"userSig"`
	}
	if err := json.NewDecoder(res.Body).Decode(&ans); err != nil {
		return "", fmt.Errorf("loadgen: get_login_info: HTTP %d: %w", res.StatusCode, err)
	}
	if ans.Code != 0 || ans.UserSig == "" {
		return "", fmt.Errorf("loadgen: get_login_info: code %d: %s (is open_login on?)", ans.Code, ans.Message)
	}
	return ans.UserSig, nil
}

// joinRoom logs m in, opens the signaling socket and joins room. pub, when
// not nil, is the member's publisher connection (created by the caller so its
// handlers are in place before any signaling arrives).
func joinRoom(ctx context.Context, hc *http.Client, api *webrtc.API, baseURL, room string, mem *Member,
	pub *webrtc.PeerConnection) (*member, error) {
	userID := mem.userID
	sig, err := login(ctx, hc, baseURL, userID)
	if err != nil {
		return nil, err
	}
	wsURL := "ws" + strings.TrimPrefix(baseURL, "http") + "/ws"
	ws, res, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		if res != nil { // the server refused the upgrade: say why
			text, _ := io.ReadAll(io.LimitReader(res.Body, 300))
			_ = res.Body.Close()
			return nil, fmt.Errorf("loadgen: dial %s: HTTP %d: %s", wsURL, res.StatusCode, strings.TrimSpace(string(text)))
		}
		return nil, fmt.Errorf("loadgen: dial %s: %w", wsURL, err)
	}
	m := &member{
		Member: mem, ws: ws, pub: pub,
		pending: map[string][]webrtc.ICECandidateInit{},
		joined:  make(chan error, 1), done: make(chan struct{}),
	}
	if m.sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		_ = ws.Close()
		return nil, fmt.Errorf("loadgen: subscriber connection: %w", err)
	}
	m.sub.OnTrack(m.receive)
	m.wg.Add(1)
	go m.readLoop()
	if err := m.send(map[string]any{"type": "join", "room": room, "userSig": sig}); err != nil {
		m.Close()
		return nil, err
	}
	select {
	case err = <-m.joined:
	case <-ctx.Done():
		err = ctx.Err()
	case <-m.done:
		err = errors.New("socket closed before joined")
	}
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("loadgen: %s: join: %w", userID, err)
	}
	return m, nil
}

// describe sets d as pc's local description and returns it with every local
// candidate in it. Members announce their candidates in the SDP rather than
// trickling them: there is one host address, gathered at once, and a trickled
// candidate could overtake the description it belongs to.
func describe(pc *webrtc.PeerConnection, d webrtc.SessionDescription) (string, error) {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(d); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// receive reads one remote track and its RTCP until the connection closes.
// Reading RTCP lets the interceptors see the server's sender reports, as a
// browser would.
func (m *member) receive(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	go func() { // ends, like Receive, when the connection closes
		buf := make([]byte, 1500)
		for {
			if _, _, err := recv.Read(buf); err != nil {
				return
			}
		}
	}()
	m.Receive(tr.Kind() == webrtc.RTPCodecTypeVideo, func(b []byte) (int, error) {
		n, _, err := tr.Read(b)
		return n, err
	})
}

// paddingOnly reports whether an RTP packet carries nothing but padding (what a
// server sends to probe the downlink); a malformed packet counts as media.
func paddingOnly(pkt []byte) bool {
	if len(pkt) < 12 || pkt[0]&0x20 == 0 {
		return false
	}
	hdr := 12 + 4*int(pkt[0]&0x0f) // fixed header and CSRCs
	if pkt[0]&0x10 != 0 {          // header extension: 4 bytes + its length in words
		if len(pkt) < hdr+4 {
			return false
		}
		hdr += 4 + 4*(int(pkt[hdr+2])<<8|int(pkt[hdr+3]))
	}
	return hdr+int(pkt[len(pkt)-1]) == len(pkt)
}

// send writes one JSON message to the server.
func (m *member) send(v any) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	_ = m.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return m.ws.WriteJSON(v)
}

// signal is the subset of server messages the load generator acts on.
type signal struct {
	Type      string          `json:"type"`
	Target    string          `json:"target"`
	SDP       string          `json:"sdp"`
	Candidate json.RawMessage `json:"candidate"`
	Code      int             `json:"code"`
	Message   string          `json:"message"`
	Ref       string          `json:"ref"`
	Reason    string          `json:"reason"`
}

// readLoop handles server messages until the socket closes. Descriptions and
// candidates are applied here, in order.
func (m *member) readLoop() {
	defer m.wg.Done()
	defer close(m.done)
	for {
		_, data, err := m.ws.ReadMessage()
		if err != nil {
			return
		}
		var s signal
		if err := json.Unmarshal(data, &s); err != nil {
			continue
		}
		switch s.Type {
		case "joined":
			m.reportJoin(nil)
		case "error":
			if s.Ref == "join" {
				m.reportJoin(fmt.Errorf("code %d: %s", s.Code, s.Message))
			} else {
				m.log.Warn("server error", "code", s.Code, "message", s.Message, "ref", s.Ref)
			}
		case "kicked":
			m.log.Warn("kicked", "reason", s.Reason)
		case "answer":
			if m.pub == nil {
				continue
			}
			if err := m.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.SDP}); err != nil {
				m.log.Warn("publisher answer", "err", err)
				continue
			}
			m.flushCandidates("publisher", m.pub)
		case "offer":
			if err := m.answer(s.SDP); err != nil {
				m.log.Warn("subscriber offer", "err", err)
				continue
			}
			m.flushCandidates("subscriber", m.sub)
		case "candidate":
			m.addCandidate(s.Target, s.Candidate)
		}
	}
}

func (m *member) reportJoin(err error) {
	if err == nil {
		m.Joined()
	}
	select {
	case m.joined <- err:
	default:
	}
}

// answer applies the server's subscriber offer and sends the answer.
func (m *member) answer(offer string) error {
	if err := m.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return err
	}
	a, err := m.sub.CreateAnswer(nil)
	if err != nil {
		return err
	}
	local, err := describe(m.sub, a)
	if err != nil {
		return err
	}
	return m.send(map[string]any{"type": "answer", "target": "subscriber", "sdp": local})
}

// addCandidate adds a server candidate (an object or a bare candidate line) to
// the target connection, or keeps it until that connection has a remote description.
func (m *member) addCandidate(target string, raw json.RawMessage) {
	var ci webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &ci); err != nil {
		var line string
		if json.Unmarshal(raw, &line) != nil {
			return
		}
		ci.Candidate = line
	}
	if strings.TrimSpace(ci.Candidate) == "" {
		return // end of candidates
	}
	pc := m.sub
	if target == "publisher" {
		pc = m.pub
	}
	if pc == nil {
		return
	}
	if pc.RemoteDescription() == nil {
		m.pending[target] = append(m.pending[target], ci)
		return
	}
	if err := pc.AddICECandidate(ci); err != nil {
		m.log.Debug("candidate", "target", target, "err", err)
	}
}

func (m *member) flushCandidates(target string, pc *webrtc.PeerConnection) {
	for _, ci := range m.pending[target] {
		if err := pc.AddICECandidate(ci); err != nil {
			m.log.Debug("candidate", "target", target, "err", err)
		}
	}
	delete(m.pending, target)
}

// Close leaves the room and closes the socket and connections, then waits for
// the member's goroutines.
func (m *member) Close() {
	m.closeOnce.Do(func() {
		_ = m.send(map[string]any{"type": "leave"})
		_ = m.ws.Close()
		if m.pub != nil {
			_ = m.pub.Close()
		}
		_ = m.sub.Close()
		m.wg.Wait()
	})
}
