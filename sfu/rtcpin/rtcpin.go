// Package rtcpin reads the RTCP a server receives in place, without
// allocating: the packets of a compound datagram, and the few fields the
// server acts on (keyframe requests, NACKs, REMB, reception reports).
//
// pion's rtcp.Unmarshal builds an object per packet, and a transport-cc
// report becomes one object per packet it lists: with every subscriber
// reporting ten times a second, that was most of what RTCP cost the server.
package rtcpin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrMalformed is returned for a datagram whose RTCP headers do not add up.
var ErrMalformed = errors.New("rtcpin: malformed RTCP")

// RTCP packet types (RFC 3550, RFC 4585).
const (
	TypeSR    = 200
	TypeRR    = 201
	TypeRTPFB = 205 // transport-layer feedback: NACK (FMT 1), transport-cc (FMT 15)
	TypePSFB  = 206 // payload-specific feedback: PLI (FMT 1), FIR (FMT 4), REMB (FMT 15)
)

// Feedback message types (the header's FMT field).
const (
	FmtNACK         = 1
	FmtTransportCC  = 15
	FmtPLI          = 1
	FmtFIR          = 4
	FmtApplications = 15 // REMB among them
)

// Packet is one RTCP packet of a compound datagram.
type Packet struct {
	Type  uint8  // payload type, e.g. TypeRR
	Count uint8  // the header's 5-bit count; FMT for feedback messages
	Raw   []byte // the whole packet, header included, padding removed
}

// Walk calls fn with each packet of the compound datagram b, in order, until
// fn returns false. Packets before a malformed one are delivered; the error
// names what is wrong.
func Walk(b []byte, fn func(Packet) bool) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return fmt.Errorf("%w: %d bytes left, shorter than a header", ErrMalformed, len(b))
		}
		if b[0]>>6 != 2 {
			return fmt.Errorf("%w: version %d", ErrMalformed, b[0]>>6)
		}
		n := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
		if n > len(b) {
			return fmt.Errorf("%w: a packet of %d bytes in %d", ErrMalformed, n, len(b))
		}
		raw := b[:n]
		if b[0]&0x20 != 0 { // padding: its count is the last byte
			pad := int(raw[n-1])
			if pad == 0 || pad > n-4 {
				return fmt.Errorf("%w: padding of %d bytes in a packet of %d", ErrMalformed, pad, n)
			}
			raw = raw[:n-pad]
		}
		if !fn(Packet{Type: b[1], Count: b[0] & 0x1f, Raw: raw}) {
			return nil
		}
		b = b[n:]
	}
	return nil
}

// feedbackHeader is the size of a feedback message's fixed part: the header,
// the sender's SSRC and the media source's SSRC.
const feedbackHeader = 12

// IsKeyframeRequest reports whether p asks for a keyframe (PLI or FIR).
func (p Packet) IsKeyframeRequest() bool {
	return p.Type == TypePSFB && (p.Count == FmtPLI || p.Count == FmtFIR) && len(p.Raw) >= feedbackHeader
}

// IsTransportCC reports whether p is a transport-cc feedback report.
func (p Packet) IsTransportCC() bool {
	return p.Type == TypeRTPFB && p.Count == FmtTransportCC
}

// MediaSSRC is the SSRC a feedback message is about (0 if p is too short).
func (p Packet) MediaSSRC() uint32 {
	if len(p.Raw) < feedbackHeader {
		return 0
	}
	return binary.BigEndian.Uint32(p.Raw[8:])
}

// NACKs appends the sequence numbers a generic NACK asks for to dst; ok is
// false when p is not one.
func (p Packet) NACKs(dst []uint16) (_ []uint16, ok bool) {
	if p.Type != TypeRTPFB || p.Count != FmtNACK || len(p.Raw) < feedbackHeader {
		return dst, false
	}
	for fci := p.Raw[feedbackHeader:]; len(fci) >= 4; fci = fci[4:] {
		pid := binary.BigEndian.Uint16(fci)
		blp := binary.BigEndian.Uint16(fci[2:])
		dst = append(dst, pid)
		for i := range uint16(16) {
			if blp&(1<<i) != 0 {
				dst = append(dst, pid+i+1)
			}
		}
	}
	return dst, true
}

// REMB returns the bitrate (bits/s) of a receiver-estimated maximum bitrate
// message; ok is false when p is not one.
func (p Packet) REMB() (bitrate float64, ok bool) {
	// Header, sender SSRC, media SSRC (0), "REMB", SSRC count, 6-bit
	// exponent and 18-bit mantissa, then the SSRCs.
	if p.Type != TypePSFB || p.Count != FmtApplications || len(p.Raw) < 20 || string(p.Raw[12:16]) != "REMB" {
		return 0, false
	}
	exp := p.Raw[17] >> 2
	mantissa := uint32(p.Raw[17]&3)<<16 | uint32(p.Raw[18])<<8 | uint32(p.Raw[19])
	return math.Ldexp(float64(mantissa), int(exp)), true
}

// Report is one reception report block of a sender or receiver report.
type Report struct {
	SSRC             uint32 // the source it reports on
	FractionLost     uint8  // since the last report, in 1/256
	TotalLost        uint32 // 24 bits
	LastSeq          uint32 // extended highest sequence number received
	Jitter           uint32 // in the RTP clock
	LastSenderReport uint32 // middle 32 bits of the last SR's NTP time
	Delay            uint32 // since that SR, in 1/65536 s
}

// reportBlock is a reception report block's size.
const reportBlock = 24

// Reports calls fn with each reception report block of a sender or receiver
// report, and reports whether p is one.
func (p Packet) Reports(fn func(Report)) bool {
	var at int
	switch p.Type {
	case TypeRR:
		at = 8 // header, reporter's SSRC
	case TypeSR:
		at = 28 // header, SSRC, NTP time, RTP time, packet and octet counts
	default:
		return false
	}
	for i := 0; i < int(p.Count) && at+reportBlock <= len(p.Raw); i++ {
		b := p.Raw[at : at+reportBlock]
		fn(Report{
			SSRC:             binary.BigEndian.Uint32(b),
			FractionLost:     b[4],
			TotalLost:        uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]),
			LastSeq:          binary.BigEndian.Uint32(b[8:]),
			Jitter:           binary.BigEndian.Uint32(b[12:]),
			LastSenderReport: binary.BigEndian.Uint32(b[16:]),
			Delay:            binary.BigEndian.Uint32(b[20:]),
		})
		at += reportBlock
	}
	return true
}
