// Package testclient is a WebRTC member written with pion, speaking openroom's
// signaling protocol, for in-process tests: it publishes synthetic RTP and counts
// what it receives from each other member.
package testclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Client is one test member. Its methods are safe for concurrent use.
type Client struct {
	UserID string
	ws     *websocket.Conn
	wmu    sync.Mutex // guards writes to ws
	pub    *webrtc.PeerConnection
	sub    *webrtc.PeerConnection
	video  *webrtc.TrackLocalStaticRTP
	audio  *webrtc.TrackLocalStaticRTP

	candMu    sync.Mutex                  // guards holdCands, heldCands
	holdCands map[string]bool             // by target: an answer/offer is being made, candidates wait for it
	heldCands map[string][]map[string]any // by target: candidates waiting for the description

	mu       sync.Mutex               // guards received, msgs
	received map[string]*atomic.Int64 // owner/kind -> packets
	msgs     []map[string]any

	keyframeRequests atomic.Int64 // PLIs and FIRs the server sent for our video

	joined chan map[string]any
	done   chan struct{}
	wg     sync.WaitGroup
	stop   chan struct{}
	once   sync.Once
}

// API builds a pion API for clients on loopback.
func API() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Options for Join.
type Options struct {
	URL       string // http://host:port of the server
	Room      string
	UserSig   string
	RoomKey   string
	Publish   bool   // publish one video (H.264) and one audio (Opus) track
	VideoMime string // default H.264
}

// Join connects, joins and (if asked) publishes. It returns once joined.
func Join(ctx context.Context, api *webrtc.API, o Options) (*Client, error) {
	wsURL := "ws" + strings.TrimPrefix(o.URL, "http") + "/ws"
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, http.Header{})
	if err != nil {
		return nil, err
	}
	c := &Client{ws: ws, received: map[string]*atomic.Int64{}, holdCands: map[string]bool{}, heldCands: map[string][]map[string]any{}, joined: make(chan map[string]any, 1),
		done: make(chan struct{}), stop: make(chan struct{})}
	if c.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, err
	}
	if c.sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, err
	}
	for target, pc := range map[string]*webrtc.PeerConnection{"publisher": c.pub, "subscriber": c.sub} {
		target := target
		pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
			if ci == nil {
				return
			}
			msg := map[string]any{"type": "candidate", "target": target, "candidate": ci.ToJSON()}
			// Gathering starts in SetLocalDescription, before the description is
			// sent: a candidate must not overtake it (after an ICE restart the server
			// would apply it to the old generation).
			c.candMu.Lock()
			if c.holdCands[target] {
				c.heldCands[target] = append(c.heldCands[target], msg)
				c.candMu.Unlock()
				return
			}
			c.candMu.Unlock()
			_ = c.Send(msg)
		})
	}
	c.sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		key := tr.StreamID() + "/" + tr.Kind().String()
		c.mu.Lock()
		n, ok := c.received[key]
		if !ok {
			n = new(atomic.Int64)
			c.received[key] = n
		}
		c.mu.Unlock()
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			n.Add(1)
		}
	})
	c.wg.Add(1)
	go c.readLoop()
	if err := c.Send(map[string]any{"type": "join", "room": o.Room, "userSig": o.UserSig, "privateMapKey": o.RoomKey}); err != nil {
		c.Close()
		return nil, err
	}
	select {
	case j := <-c.joined:
		if j["type"] == "error" {
			c.Close()
			return nil, fmt.Errorf("join: %v (code %v)", j["message"], j["code"])
		}
		c.UserID, _ = j["userID"].(string)
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	case <-c.done:
		c.Close()
		return nil, errors.New("socket closed before joined")
	}
	if o.Publish {
		if err := c.publish(o.VideoMime); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *Client) publish(mime string) error {
	if mime == "" {
		mime = webrtc.MimeTypeH264
	}
	var err error
	vc := webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}
	if mime == webrtc.MimeTypeH264 {
		vc.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	}
	if c.video, err = webrtc.NewTrackLocalStaticRTP(vc, "video", c.UserID); err != nil {
		return err
	}
	if c.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", c.UserID); err != nil {
		return err
	}
	for _, t := range []webrtc.TrackLocal{c.video, c.audio} {
		tr, err := c.pub.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return err
		}
		if t == c.video {
			c.wg.Add(1)
			go c.countKeyframeRequests(tr.Sender())
		}
	}
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := c.pub.SetLocalDescription(offer); err != nil {
		return err
	}
	if err := c.Send(map[string]any{"type": "offer", "target": "publisher", "sdp": offer.SDP}); err != nil {
		return err
	}
	c.wg.Add(1)
	go c.pump()
	return nil
}

// pump sends synthetic media: a fake H.264 IDR-ish NAL stream at 30 fps and Opus at 50 pps.
func (c *Client) pump() {
	defer c.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seqV, seqA uint16
	var n uint32
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		n++
		seqA++
		_ = c.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seqA, Timestamp: n * 960, PayloadType: 111},
			Payload: []byte{0xfc, 0xff, 0xfe}})
		seqV++
		_ = c.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seqV, Timestamp: n * 1800, Marker: true, PayloadType: 102},
			Payload: []byte{0x65, 0x88, 0x84, 0x00, 0x33, 0xff}})
	}
}

// countKeyframeRequests reads the video sender's RTCP until the connection closes.
func (c *Client) countKeyframeRequests(s *webrtc.RTPSender) {
	defer c.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				c.keyframeRequests.Add(1)
			}
		}
	}
}

// KeyframeRequests is how many PLIs and FIRs the server sent for our video.
func (c *Client) KeyframeRequests() int64 { return c.keyframeRequests.Load() }

// Send writes one JSON message.
func (c *Client) Send(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

// SendRaw writes one raw frame.
func (c *Client) SendRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *Client) readLoop() {
	defer c.wg.Done()
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
		switch m["type"] {
		case "joined":
			select {
			case c.joined <- m:
			default:
			}
		case "error":
			if m["ref"] == "join" {
				select {
				case c.joined <- m:
				default:
				}
			}
		case "answer":
			_ = c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m["sdp"].(string)})
		case "offer":
			c.answerOffer(m["sdp"].(string))
		case "candidate":
			b, _ := json.Marshal(m["candidate"])
			var ci webrtc.ICECandidateInit
			if json.Unmarshal(b, &ci) == nil {
				if m["target"] == "publisher" {
					_ = c.pub.AddICECandidate(ci)
				} else {
					_ = c.sub.AddICECandidate(ci)
				}
			}
		}
	}
}

// holdCandidates makes target's candidates wait until the returned func is
// called (after the description they belong to is sent).
func (c *Client) holdCandidates(target string) (release func()) {
	c.candMu.Lock()
	c.holdCands[target] = true
	c.candMu.Unlock()
	return func() {
		c.candMu.Lock()
		held := c.heldCands[target]
		c.holdCands[target], c.heldCands[target] = false, nil
		c.candMu.Unlock()
		for _, m := range held {
			_ = c.Send(m)
		}
	}
}

// RestartPublisherICE offers the publisher connection again with new ICE
// credentials, as a client whose network changed does.
func (c *Client) RestartPublisherICE() error {
	release := c.holdCandidates("publisher")
	defer release()
	offer, err := c.pub.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return err
	}
	if err := c.pub.SetLocalDescription(offer); err != nil {
		return err
	}
	return c.Send(map[string]any{"type": "offer", "target": "publisher", "sdp": offer.SDP})
}

func (c *Client) answerOffer(sdp string) {
	defer c.holdCandidates("subscriber")() // the answer is out (or failed): the candidates follow it
	if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return
	}
	a, err := c.sub.CreateAnswer(nil)
	if err != nil {
		return
	}
	if err := c.sub.SetLocalDescription(a); err != nil {
		return
	}
	_ = c.Send(map[string]any{"type": "answer", "target": "subscriber", "sdp": a.SDP})
}

// Received reports how many packets arrived from owner's track of kind ("audio"/"video").
func (c *Client) Received(owner, kind string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.received[owner+"/"+kind]; ok {
		return n.Load()
	}
	return 0
}

// Messages returns a copy of every message received so far.
func (c *Client) Messages() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.msgs...)
}

// Done is closed when the socket is closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Leave sends leave and closes everything.
func (c *Client) Leave() {
	_ = c.Send(map[string]any{"type": "leave"})
	c.Close()
}

// Close closes the socket and both connections and waits for the client's goroutines.
func (c *Client) Close() {
	c.once.Do(func() {
		close(c.stop)
		_ = c.ws.Close()
		_ = c.pub.Close()
		_ = c.sub.Close()
		c.wg.Wait()
	})
}
