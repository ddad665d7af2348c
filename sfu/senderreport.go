package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

// senderReportInterval is how often a subscriber gets a sender report for each
// track it receives (as pion's interceptor and browsers do). Receivers use them
// for lip sync (the NTP time of an RTP timestamp) and answer with the LSR/DLSR
// that give the round-trip time (onReceiverReport).
const senderReportInterval = time.Second

// maxReportsPerPacket keeps one compound RTCP packet under a typical MTU
// (a sender report without report blocks is 28 bytes).
const maxReportsPerPacket = 32

// senderReport says what d has sent: the RTP time that goes with now
// (extrapolated from the forwarder's newest packet and when it went) and the
// packet and byte counts. ok is false before the first packet. The down track
// and its forwarder keep these as they forward, so no per-packet interceptor
// has to watch the stream.
func (d *DownTrack) senderReport(now time.Time) (sr rtcp.SenderReport, ok bool) {
	b := d.bound.Load()
	if b == nil {
		return sr, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sent == 0 {
		return sr, false
	}
	f := d.fwd
	since := max(now.UnixNano()-f.lastOutAt, 0)
	return rtcp.SenderReport{
		SSRC:        uint32(b.ssrc),
		NTPTime:     ntpTime(now),
		RTPTime:     f.lastOutTS + uint32(uint64(since)*uint64(f.clockRate)/uint64(time.Second)),
		PacketCount: uint32(d.sent + d.resent.Load()),
		OctetCount:  uint32(d.sentB),
	}, true
}

// sendSenderReports writes a sender report for every track the peer receives.
// Run by the peer's goroutine.
func (p *Peer) sendSenderReports() {
	if len(p.subs) == 0 {
		return
	}
	now := p.now()
	pkts := make([]rtcp.Packet, 0, min(len(p.subs), maxReportsPerPacket))
	for _, s := range p.subs {
		sr, ok := s.down.senderReport(now)
		if !ok {
			continue
		}
		pkts = append(pkts, &sr)
		if len(pkts) == maxReportsPerPacket {
			_ = p.sub.WriteRTCP(pkts) // fails only before the connection is up, or after it is closed
			pkts = pkts[:0]
		}
	}
	if len(pkts) > 0 {
		_ = p.sub.WriteRTCP(pkts)
	}
}
