package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/sfu/srtpkeys"
	"github.com/openroom/openroom/sfu/twcc"
)

// A subscriber connection's RTP takes a send path of our own once its DTLS
// handshake is done: the transport-cc number stamped, the packet marshalled,
// encrypted with an SRTP context of our own (keys from srtpkeys) and queued on
// the engine's socket for the selected candidate pair's address. pion's path
// (interceptor chain, SRTP session, mux, ICE connection) cost 8-15 % of the
// server's CPU per forwarded packet at 20-100 subscribers a track
// (docs/benchmarks.md). Until then, and where the keys cannot be had (this
// side is the DTLS client) or the pair is on no socket of ours, pion's path
// carries it. The server's candidates are all host candidates on its UDP
// sockets, so once taken the own path never has to go back: pion's SRTP
// context would not know the rollover counters ours has moved on.

// addrPortWriter is the engine's UDP socket (udpbatch.Conn or *net.UDPConn).
type addrPortWriter interface {
	WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// errNoSocket means the selected candidate pair is on no socket of ours.
var errNoSocket = errors.New("sfu: the selected candidate pair's local address is on no socket of the engine")

// directSend is one subscriber connection's own send path.
type directSend struct {
	keys  *srtpkeys.Recorder
	conns []net.PacketConn // the engine's sockets
	est   *twcc.Estimator
	log   *slog.Logger

	mu     sync.Mutex    // guards the fields below; held across a send, which orders the SRTP context's use
	ctx    *srtp.Context // nil: pion's path
	conn   addrPortWriter
	addr   netip.AddrPort
	routed bool                // a pair change set conn and addr (start must not put an older pair back)
	buf    [directBufSize]byte // the marshalled packet
	out    []byte              // the encrypted one
}

// directBufSize holds the largest RTP packet a down track sends, with room
// to spare (the MTU bounds what publishers send; padding packets are small).
const directBufSize = 2048

func newDirectSend(keys *srtpkeys.Recorder, conns []net.PacketConn, est *twcc.Estimator, log *slog.Logger) *directSend {
	return &directSend{keys: keys, conns: conns, est: est, log: log, out: make([]byte, 0, directBufSize+srtpOverhead)}
}

// srtpOverhead is room for the SRTP auth tag (at most 16 bytes for AEAD).
const srtpOverhead = 16

// start takes the own path for ice's selected pair once DTLS is connected,
// and follows the pair as it changes. It reports why it could not.
func (s *directSend) start(ice *webrtc.ICETransport) error {
	keys, profile, err := s.keys.Keys()
	if err != nil {
		return err
	}
	ctx, err := srtp.CreateContext(keys.LocalMasterKey, keys.LocalMasterSalt, profile)
	if err != nil {
		return fmt.Errorf("sfu: own SRTP context: %w", err)
	}
	// Follow the pair from now on, then take the current one, unless it has
	// changed meanwhile.
	ice.OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		conn, addr, err := s.route(p)
		if err != nil {
			// Not expected: every candidate of ours is a host candidate on
			// one of the engine's sockets. The last route is kept.
			s.log.Warn("own send path: candidate pair not followed", "err", err)
			return
		}
		s.mu.Lock()
		s.conn, s.addr, s.routed = conn, addr, true
		s.mu.Unlock()
	})
	pair, err := ice.GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return fmt.Errorf("sfu: no selected candidate pair: %w", err)
	}
	conn, addr, err := s.route(pair)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if !s.routed {
		s.conn, s.addr = conn, addr
	}
	s.ctx = ctx
	s.mu.Unlock()
	return nil
}

// route finds the socket and remote address of a candidate pair.
func (s *directSend) route(p *webrtc.ICECandidatePair) (addrPortWriter, netip.AddrPort, error) {
	if p == nil || p.Local == nil || p.Remote == nil || p.Local.Protocol != webrtc.ICEProtocolUDP {
		return nil, netip.AddrPort{}, errNoSocket
	}
	remote, err := netip.ParseAddr(p.Remote.Address)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("sfu: remote candidate %q: %w", p.Remote.Address, err)
	}
	local := net.ParseIP(p.Local.Address)
	var byPort []addrPortWriter
	for _, c := range s.conns {
		a, ok := c.LocalAddr().(*net.UDPAddr)
		w, canWrite := c.(addrPortWriter)
		if !ok || !canWrite || a.Port != int(p.Local.Port) {
			continue
		}
		if a.IP.Equal(local) {
			return w, netip.AddrPortFrom(remote.Unmap(), p.Remote.Port), nil
		}
		byPort = append(byPort, w)
	}
	// A host candidate announced with another address (node_ip, NAT 1:1)
	// names the port only.
	if len(byPort) == 1 {
		return byPort[0], netip.AddrPortFrom(remote.Unmap(), p.Remote.Port), nil
	}
	return nil, netip.AddrPort{}, errNoSocket
}

// writer returns a down track's writer: the own path once started, pion's
// (fallback) before. ext is the transport-cc header extension's ID on the
// stream, 0 if it was not negotiated.
func (s *directSend) writer(fallback webrtc.TrackLocalWriter, ext uint8) webrtc.TrackLocalWriter {
	return &directWriter{s: s, fallback: fallback, ext: ext}
}

// directWriter is one down track's writer on a directSend.
type directWriter struct {
	s        *directSend
	fallback webrtc.TrackLocalWriter
	ext      uint8
	twcc     [2]byte // guarded by s.mu: the transport-cc extension's payload (twcc.Estimator.Stamp)
}

// WriteRTP sends one packet. pion's path is taken without s.mu: its own
// locks order it.
func (w *directWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	s := w.s
	s.mu.Lock()
	if s.ctx == nil {
		s.mu.Unlock()
		return w.fallback.WriteRTP(h, payload)
	}
	defer s.mu.Unlock()
	pad := 0
	if h.Padding {
		pad = int(h.PaddingSize)
	}
	if w.ext != 0 {
		// Stamp refuses a packet s.buf cannot hold before it takes a number.
		if _, err := s.est.Stamp(h, w.ext, &w.twcc, len(payload), len(s.buf)); err != nil {
			return 0, fmt.Errorf("sfu: own send path: %w", err)
		}
	} else if size := h.MarshalSize() + len(payload) + pad; size > len(s.buf) {
		return 0, fmt.Errorf("sfu: RTP packet of %d bytes: %w", size, errTooLarge)
	}
	n, err := h.MarshalTo(s.buf[:])
	if err != nil {
		return 0, err
	}
	n += copy(s.buf[n:], payload)
	if pad > 0 {
		clear(s.buf[n : n+pad-1])
		s.buf[n+pad-1] = byte(pad)
		n += pad
	}
	s.out, err = s.ctx.EncryptRTP(s.out[:0], s.buf[:n], h)
	if err != nil {
		return 0, fmt.Errorf("sfu: SRTP: %w", err)
	}
	return s.conn.WriteToAddrPort(s.out, s.addr)
}

// Write sends a marshalled RTP packet (not used by down tracks).
func (w *directWriter) Write(b []byte) (int, error) { return w.fallback.Write(b) }

// errTooLarge means a packet does not fit the own path's buffer.
var errTooLarge = errors.New("larger than the send buffer")

// transportCCID is the transport-cc header extension's ID among exts, 0 if
// it was not negotiated.
func transportCCID(exts []webrtc.RTPHeaderExtensionParameter) uint8 {
	for _, e := range exts {
		if e.URI == sdp.TransportCCURI {
			return uint8(e.ID)
		}
	}
	return 0
}
