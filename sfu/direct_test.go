package sfu

import (
	"bytes"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/sfu/twcc"
)

// sentDatagrams records what a directSend writes.
type sentDatagrams struct {
	got  [][]byte
	addr []netip.AddrPort
}

func (s *sentDatagrams) WriteToAddrPort(b []byte, a netip.AddrPort) (int, error) {
	s.got = append(s.got, append([]byte(nil), b...))
	s.addr = append(s.addr, a)
	return len(b), nil
}

// TestDirectWriterPacket: a packet on the own path decrypts, with the keys of
// the other side, to the header, payload and padding given, stamped with
// consecutive transport-cc numbers, and goes to the pair's address.
func TestDirectWriterPacket(t *testing.T) {
	t.Parallel()
	for _, profile := range []srtp.ProtectionProfile{srtp.ProtectionProfileAeadAes128Gcm, srtp.ProtectionProfileAes128CmHmacSha1_80} {
		t.Run(profile.String(), func(t *testing.T) {
			t.Parallel()
			keyLen, _ := profile.KeyLen()
			saltLen, _ := profile.SaltLen()
			key, salt := bytes.Repeat([]byte{7}, keyLen), bytes.Repeat([]byte{9}, saltLen)
			enc, err := srtp.CreateContext(key, salt, profile)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := srtp.CreateContext(key, salt, profile)
			if err != nil {
				t.Fatal(err)
			}
			conn := &sentDatagrams{}
			to := netip.MustParseAddrPort("10.0.0.2:5000")
			s := newDirectSend(nil, nil, twcc.New(twcc.Config{Initial: 1e6, Min: 1e5, Max: 1e7}), nil)
			s.ctx, s.conn, s.addr = enc, conn, to
			const ext = 3
			w := s.writer(nil, ext)
			media := bytes.Repeat([]byte{0xab}, 900)
			hdr := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 100, Timestamp: 9000, SSRC: 42, Marker: true}
			if _, err := w.WriteRTP(&hdr, media); err != nil {
				t.Fatal(err)
			}
			pad := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 101, Timestamp: 9000, SSRC: 42, Padding: true, PaddingSize: 200}
			if _, err := w.WriteRTP(&pad, nil); err != nil {
				t.Fatal(err)
			}
			if len(conn.got) != 2 {
				t.Fatalf("got %d datagrams; want 2", len(conn.got))
			}
			var twccSeq []uint16
			for i, want := range []struct {
				seq     uint16
				payload []byte
				padding byte
			}{{100, media, 0}, {101, nil, 200}} {
				if conn.addr[i] != to {
					t.Errorf("packet %d: sent to %v; want %v", i, conn.addr[i], to)
				}
				plain, err := dec.DecryptRTP(nil, conn.got[i], nil)
				if err != nil {
					t.Fatalf("packet %d: decrypt: %v", i, err)
				}
				var p rtp.Packet
				if err := p.Unmarshal(plain); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if p.SequenceNumber != want.seq || p.SSRC != 42 || !bytes.Equal(p.Payload, want.payload) || p.PaddingSize != want.padding {
					t.Errorf("packet %d: got seq %d, ssrc %d, %d payload bytes, padding %d; want seq %d, ssrc 42, %d bytes, padding %d",
						i, p.SequenceNumber, p.SSRC, len(p.Payload), p.PaddingSize, want.seq, len(want.payload), want.padding)
				}
				e := p.GetExtension(ext)
				if len(e) != 2 {
					t.Fatalf("packet %d: transport-cc extension: got %x; want 2 bytes", i, e)
				}
				twccSeq = append(twccSeq, uint16(e[0])<<8|uint16(e[1]))
			}
			if twccSeq[1] != twccSeq[0]+1 {
				t.Errorf("transport-cc numbers: got %v; want consecutive", twccSeq)
			}
		})
	}
}

// TestOwnSendPathTaken: a subscriber connected over the engine's socket gets
// its media on the own path, and every packet arrives.
func TestOwnSendPathTaken(t *testing.T) {
	e := loopbackEngine(t)
	tr := NewTrack(TrackOptions{ID: "v", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo, Codec: h264})
	var got atomic.Int64
	p, client := dialSubscriber(t, e, func(r *webrtc.TrackRemote) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := r.Read(buf); err != nil {
				return
			}
			got.Add(1)
		}
	}, tr)
	defer func() { p.Close(); _ = client.Close() }()
	if p.direct == nil {
		t.Fatal("no own send path on a default engine")
	}
	taken := func() bool {
		p.direct.mu.Lock()
		defer p.direct.mu.Unlock()
		return p.direct.ctx != nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for !taken() {
		if time.Now().After(deadline) {
			t.Fatal("the own send path was never taken")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 9, SequenceNumber: 1, Timestamp: 3000, Marker: true},
		Payload: []byte{0x65, 1, 2, 3}} // a keyframe first
	const n = 200
	before := got.Load()
	for i := range n {
		tr.WriteRTP(pkt)
		pkt.SequenceNumber++
		pkt.Timestamp += 3000
		pkt.Payload = []byte{0x41, byte(i), 2, 3}
		time.Sleep(time.Millisecond)
	}
	for got.Load()-before < n && time.Now().Before(deadline.Add(5*time.Second)) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := got.Load() - before; got != n {
		t.Errorf("received %d of %d packets on the own send path", got, n)
	}
}
