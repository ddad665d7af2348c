package bridge

import (
	"errors"
	"fmt"
	"io"
)

// ErrRTMPBudget is returned (wrapped) when an RTMP client sends more, or
// bigger, than is allowed before its publish or play is authorized.
var ErrRTMPBudget = errors.New("rtmp: over the unauthenticated budget")

// Before a connection's publish or play is authorized it may send only what a
// real client sends then (the handshake and a few small commands): the RTMP
// library allocates a message's declared size as its chunks arrive, so these
// bound what an anonymous connection can make the server hold.
const (
	// preAuthBytes caps everything read before authorization (handshake: 3073).
	preAuthBytes = 64 << 10
	// preAuthMessage caps one message's declared length (connect: under 1 KiB).
	preAuthMessage = 16 << 10
	// preAuthStreams caps the chunk streams in use (clients use 2 to 4).
	preAuthStreams = 8
	// rtmpHandshake is C0 + C1 + C2.
	rtmpHandshake = 1 + 1536 + 1536
)

// rtmpGuard reads an RTMP connection for the library and follows its chunk
// stream (headers only) until authorized() is called, failing the read that
// would bring a message, a chunk stream or a byte over the budget: the library
// never sees the header that would make it allocate.
type rtmpGuard struct {
	r io.Reader

	open  bool // authorized: pass everything through
	total int  // bytes read so far
	err   error

	// The chunk stream parser (see the RTMP specification, 5.3).
	hdr       [18]byte // the chunk header being read
	hdrLen    int      // bytes of hdr read
	payload   int      // bytes of the current chunk's data still to come
	chunkSize int
	streams   map[uint32]*guardStream
	cur       *guardStream
}

// guardStream is one chunk stream's state, as the library keeps it.
type guardStream struct {
	length    int  // the current message's declared length
	remaining int  // its bytes still to come (0: between messages)
	typeID    byte // its message type
	extTS     bool // the last full header had an extended timestamp
	started   bool // a type 0 header was seen
	ctrl      [4]byte
	ctrlN     int // bytes of a Set Chunk Size / Abort body captured in ctrl
}

func newRTMPGuard(r io.Reader) *rtmpGuard {
	return &rtmpGuard{r: r, chunkSize: 128, streams: map[uint32]*guardStream{}}
}

// authorized lifts the budget: the publish or play was allowed.
func (g *rtmpGuard) authorized() { g.open = true }

func (g *rtmpGuard) Read(p []byte) (int, error) {
	if g.open {
		return g.r.Read(p)
	}
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	if n > 0 {
		if perr := g.inspect(p[:n]); perr != nil {
			g.err = fmt.Errorf("%w: %v", ErrRTMPBudget, perr)
			return 0, g.err
		}
	}
	return n, err
}

// inspect follows b through the handshake and the chunk stream.
func (g *rtmpGuard) inspect(b []byte) error {
	if g.total == 0 && len(b) > 0 && b[0] != 3 {
		return fmt.Errorf("RTMP version %d (only plain RTMP, version 3, is served)", b[0])
	}
	g.total += len(b)
	if g.total > preAuthBytes {
		return fmt.Errorf("more than %d bytes before publish or play", preAuthBytes)
	}
	if skip := rtmpHandshake - (g.total - len(b)); skip > 0 {
		if skip >= len(b) {
			return nil
		}
		b = b[skip:]
	}
	for len(b) > 0 {
		if g.payload > 0 {
			n := min(g.payload, len(b))
			g.capture(b[:n])
			g.payload -= n
			b = b[n:]
			if g.payload == 0 && g.cur.remaining == 0 {
				if err := g.messageDone(); err != nil {
					return err
				}
			}
			continue
		}
		g.hdr[g.hdrLen] = b[0]
		g.hdrLen++
		b = b[1:]
		done, err := g.header()
		if err != nil {
			return err
		}
		if done {
			g.hdrLen = 0
			if g.payload == 0 && g.cur.remaining == 0 { // an empty message
				if err := g.messageDone(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// header parses g.hdr[:g.hdrLen]; it reports whether the header is complete
// (and then sets up the chunk's data).
func (g *rtmpGuard) header() (bool, error) {
	h := g.hdr[:g.hdrLen]
	fmtType := h[0] >> 6
	basic := 1
	switch h[0] & 0x3f {
	case 0:
		basic = 2
	case 1:
		basic = 3
	}
	if len(h) < basic {
		return false, nil
	}
	var csid uint32
	switch basic {
	case 1:
		csid = uint32(h[0] & 0x3f)
	case 2:
		csid = 64 + uint32(h[1])
	default:
		csid = 64 + uint32(h[1]) + uint32(h[2])<<8
	}
	msgHdr := [4]int{11, 7, 3, 0}[fmtType]
	if len(h) < basic+msgHdr {
		return false, nil
	}
	s := g.streams[csid]
	if s == nil {
		if len(g.streams) >= preAuthStreams {
			return false, fmt.Errorf("more than %d chunk streams before publish or play", preAuthStreams)
		}
		s = &guardStream{}
		g.streams[csid] = s
	}
	ext := false
	if fmtType < 3 {
		m := h[basic:]
		ext = uint32(m[0])<<16|uint32(m[1])<<8|uint32(m[2]) == 0xffffff
	} else {
		ext = s.extTS
	}
	if ext && len(h) < basic+msgHdr+4 {
		return false, nil
	}
	// The header is complete.
	m := h[basic:]
	switch fmtType {
	case 0, 1:
		s.length = int(m[3])<<16 | int(m[4])<<8 | int(m[5])
		s.typeID = m[6]
		if fmtType == 1 && !s.started {
			return false, fmt.Errorf("chunk stream %d: a type 1 header before any type 0", csid)
		}
		s.started = true
		s.extTS = ext
		s.remaining, s.ctrlN = s.length, 0
	case 2:
		if !s.started {
			return false, fmt.Errorf("chunk stream %d: a type 2 header before any type 0", csid)
		}
		s.extTS = ext
		s.remaining, s.ctrlN = s.length, 0
	case 3:
		if !s.started {
			return false, fmt.Errorf("chunk stream %d: a type 3 header before any type 0", csid)
		}
		if s.remaining == 0 { // the next message, with the previous header
			s.remaining, s.ctrlN = s.length, 0
		}
	}
	if s.length > preAuthMessage {
		return false, fmt.Errorf("a %d-byte message before publish or play (at most %d)", s.length, preAuthMessage)
	}
	if g.chunkSize <= 0 {
		return false, errors.New("chunk size 0")
	}
	g.cur = s
	g.payload = min(s.remaining, g.chunkSize)
	s.remaining -= g.payload
	return true, nil
}

// capture keeps the body of the protocol control messages that change how
// the chunk stream is read.
func (g *rtmpGuard) capture(b []byte) {
	s := g.cur
	if s.typeID != 1 && s.typeID != 2 {
		return
	}
	for _, c := range b {
		if s.ctrlN < len(s.ctrl) {
			s.ctrl[s.ctrlN] = c
			s.ctrlN++
		}
	}
}

// messageDone applies a completed Set Chunk Size (1) or Abort (2).
func (g *rtmpGuard) messageDone() error {
	s := g.cur
	if s.ctrlN < 4 {
		return nil
	}
	v := uint32(s.ctrl[0])<<24 | uint32(s.ctrl[1])<<16 | uint32(s.ctrl[2])<<8 | uint32(s.ctrl[3])
	switch s.typeID {
	case 1:
		v &= 0x7fffffff
		if v == 0 {
			return errors.New("set chunk size 0")
		}
		g.chunkSize = int(v)
	case 2:
		if a := g.streams[v]; a != nil {
			a.remaining = 0
		}
	}
	s.ctrlN = 0
	return nil
}
