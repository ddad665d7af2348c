package loadgen

import (
	"net"
	"testing"
	"time"

	"github.com/openroom/openroom/sfu/twcc"
)

// TestStampedNetRecordsArrivals reads RTP-like datagrams through a stamped
// socket: each is in the table by SSRC and sequence number, at a time between
// its sending and its reading; RTCP and a runt are not.
func TestStampedNetRecordsArrivals(t *testing.T) {
	table := twcc.NewArrivalTableBits(10)
	nw, err := newStampedNet(table)
	if err != nil {
		t.Fatal(err)
	}
	c, err := nw.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, err := net.DialUDP("udp4", nil, c.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	rtpPkt := []byte{0x80, 102, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0x65}
	rtcpPkt := []byte{0x80, 200, 0, 6, 0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0}
	for _, tc := range []struct {
		name   string
		pkt    []byte
		stamps bool
	}{
		{"rtp", rtpPkt, true},
		{"rtcp", rtcpPkt, false},
		{"runt", []byte{0x80, 102}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := time.Now().UnixNano()
			if _, err := out.Write(tc.pkt); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			read := time.Now().UnixNano()
			at, ok := table.LookupPacket(buf[:n])
			if ok != tc.stamps {
				t.Fatalf("LookupPacket: ok %v; want %v", ok, tc.stamps)
			}
			if ok && (at < sent || at > read) {
				t.Errorf("arrived at %d; want between the send %d and the read %d", at, sent, read)
			}
		})
	}
}
