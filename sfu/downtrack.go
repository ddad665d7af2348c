package sfu

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ErrCodecNotNegotiated means the subscriber cannot receive the publisher's codec.
var ErrCodecNotNegotiated = errors.New("subscriber does not support the track's codec")

// binding is what pion hands a local track when it is negotiated.
type binding struct {
	ssrc webrtc.SSRC
	pt   webrtc.PayloadType
	w    webrtc.TrackLocalWriter
}

// DownTrack sends one Track to one WebRTC subscriber. It implements
// webrtc.TrackLocal (so it can be added to a PeerConnection) and Sink (so the
// Track feeds it). Packets are forwarded unchanged except for SSRC and payload type.
type DownTrack struct {
	track *Track
	bound atomic.Pointer[binding]
	// hdr is scratch space reused for every packet: WriteRTP is only ever called
	// from the track's writer goroutine, and reusing it keeps the path allocation-free.
	hdr rtp.Header
	// onBind runs when pion binds the track (the subscriber's answer arrived).
	onBind func()
}

// NewDownTrack returns an unbound DownTrack for t.
func NewDownTrack(t *Track) *DownTrack { return &DownTrack{track: t} }

// Track is the forwarded source.
func (d *DownTrack) Track() *Track { return d.track }

// Bind is called by pion when the track is negotiated on a PeerConnection.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if codecMatches(d.track.codec, c.RTPCodecCapability) {
			d.bound.Store(&binding{ssrc: ctx.SSRC(), pt: c.PayloadType, w: ctx.WriteStream()})
			if d.onBind != nil {
				d.onBind()
			}
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: %s", ErrCodecNotNegotiated, d.track.codec.MimeType)
}

// Unbind is called by pion when the track is removed.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(nil)
	return nil
}

func (d *DownTrack) ID() string                { return d.track.id }
func (d *DownTrack) RID() string               { return "" }
func (d *DownTrack) StreamID() string          { return d.track.owner }
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.track.kind }

// WriteRTP forwards one packet. Header extensions are dropped: their IDs were
// negotiated with the publisher, not with this subscriber.
func (d *DownTrack) WriteRTP(p *rtp.Packet) error {
	b := d.bound.Load()
	if b == nil {
		return nil
	}
	d.hdr = p.Header
	d.hdr.SSRC = uint32(b.ssrc)
	d.hdr.PayloadType = uint8(b.pt)
	d.hdr.Extension = false
	d.hdr.Extensions = nil
	d.hdr.Padding = false
	d.hdr.PaddingSize = 0
	_, err := b.w.WriteRTP(&d.hdr, p.Payload)
	return err
}

// codecMatches compares mime types and, for H.264, the parameters that decide
// whether a decoder can take the stream unchanged.
func codecMatches(want, have webrtc.RTPCodecCapability) bool {
	if !strings.EqualFold(want.MimeType, have.MimeType) {
		return false
	}
	if !strings.EqualFold(want.MimeType, webrtc.MimeTypeH264) {
		return true
	}
	wp, hp := fmtp(want.SDPFmtpLine), fmtp(have.SDPFmtpLine)
	if wp["packetization-mode"] != hp["packetization-mode"] {
		return false
	}
	// profile_idc and constraint flags (first 4 hex digits) must agree; levels may differ.
	wl, hl := wp["profile-level-id"], hp["profile-level-id"]
	return len(wl) < 4 || len(hl) < 4 || strings.EqualFold(wl[:4], hl[:4])
}

func fmtp(line string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		m[strings.ToLower(k)] = v
	}
	if m["packetization-mode"] == "" {
		m["packetization-mode"] = "0"
	}
	return m
}
