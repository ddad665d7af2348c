//go:build linux

package udpbatch

import (
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of sendmmsg(2); Go pads it as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// UDP generic segmentation offload (Linux 4.18+): one message of several
// same-sized datagrams for one destination (the last may be shorter), with a
// UDP_SEGMENT control message, is cut into datagrams by the kernel after it
// has gone down the stack once (one route lookup, one socket buffer). A
// keyframe fanned out subscriber by subscriber is such a run for each one: on
// loopback a datagram costs the sender 0.64 us in runs of 27 against 2.2 us
// one by one (docs/benchmarks.md).
const (
	gsoMaxSegments = 64    // the kernel's UDP_MAX_SEGMENTS before 6.x raised it
	gsoMaxBytes    = 60000 // a message's datagrams together, under the 64 KiB IP limit
	gsoGap         = 8     // how far past a run's last packet to look for its next (other writers' packets interleave)
)

// sysBatch is a batch's sendmmsg scratch, filled in place so that a send
// allocates nothing. Its pointers point into the batch itself.
type sysBatch struct {
	hdrs      [batchSize]mmsghdr
	iovs      [batchSize]unix.Iovec             // one per packet, in the order the messages take them
	pkts      [batchSize]int                    // the packet (index into the batch) of each iov
	names     [batchSize]unix.RawSockaddrInet6  // one per message; or RawSockaddrInet4, on an IPv4 socket
	cmsgs     [batchSize][cmsgWords]uint64      // a message's UDP_SEGMENT, 8-aligned
	msgs      [batchSize]struct{ first, n int } // each message's first iov and how many packets it has
	family    int                               // the socket's: how to write names
	count     int                               // messages prepared for this send
	sent      int                               // messages handled so far in this send
	bad       int                               // packets the kernel refused
	split     unix.Errno                        // the kernel refused the message at sent, of several packets
	segmented uint64                            // packets that went in messages of several, ever (for tests)
	write     func(fd uintptr) bool
}

// cmsgWords holds one control message with a uint16 (CMSG_SPACE(2)).
const cmsgWords = (unix.SizeofCmsghdr + 8) / 8

func (s *sysBatch) init(c *Conn) {
	s.family = c.family
	s.write = s.writeFD // made once: a method value passed to RawConn.Write would allocate per call
}

// send writes the batch with sendmmsg(2) and returns how many packets the
// kernel refused (or that had an address the socket cannot reach). Where the
// socket segments (c.gso), a destination's consecutive packets of one size go
// as one message; a message of several the kernel refuses is sent again one
// packet at a time, and a refusal that says the route cannot segment
// (EIO: no checksum offload) turns segmentation off for the socket.
func (c *Conn) send(b *batch) int {
	s := &b.sys
	s.sent, s.bad = 0, 0
	s.count = s.group(b, c.gso.Load())
	for s.sent < s.count {
		s.split = 0
		if err := c.raw.Write(s.write); err != nil { // the socket is closed
			for m := s.sent; m < s.count; m++ {
				s.bad += s.msgs[m].n
			}
			break
		}
		if s.split == 0 {
			break
		}
		if s.split == unix.EIO {
			c.gso.Store(false)
		}
		s.ungroup(b, s.sent)
	}
	return s.bad
}

// group lays the batch's packets out as messages and returns how many. With
// segment, a packet takes with it the packets after it for its destination
// while they have its size (a shorter one ends the message); a destination's
// packets keep their order, other destinations' may be passed over.
func (s *sysBatch) group(b *batch, segment bool) int {
	var taken [batchSize]bool
	m, iov := 0, 0
	for i := 0; i < b.n; i++ {
		if taken[i] {
			continue
		}
		namelen, ok := s.setName(m, b.ip[i], b.port[i])
		if !ok {
			s.bad++
			continue
		}
		first := iov
		s.addIov(iov, b, i)
		iov++
		n, size, total, last := 1, b.len[i], b.len[i], i
		for j := i + 1; segment && size > 0 && j < b.n && j-last <= gsoGap && n < gsoMaxSegments; j++ {
			if taken[j] || b.port[j] != b.port[i] || b.ip[j] != b.ip[i] {
				continue
			}
			if b.len[j] > size || b.len[j] == 0 || total+b.len[j] > gsoMaxBytes {
				break
			}
			taken[j] = true
			s.addIov(iov, b, j)
			iov++
			n, total, last = n+1, total+b.len[j], j
			if b.len[j] < size {
				break
			}
		}
		s.setMsg(m, first, n, namelen, size)
		m++
	}
	return m
}

// ungroup lays out again, one packet per message, the packets of message
// from and after it.
func (s *sysBatch) ungroup(b *batch, from int) {
	m := from
	end := s.msgs[s.count-1].first + s.msgs[s.count-1].n
	for iov := s.msgs[from].first; iov < end; iov++ {
		i := s.pkts[iov]
		namelen, _ := s.setName(m, b.ip[i], b.port[i]) // it was reachable when grouped
		s.setMsg(m, iov, 1, namelen, 0)
		m++
	}
	s.count = m
}

func (s *sysBatch) addIov(iov int, b *batch, i int) {
	s.pkts[iov] = i
	s.iovs[iov].Base = &b.buf[i][0]
	s.iovs[iov].SetLen(b.len[i])
}

// setMsg fills message m: n packets from iov first on, to the address in
// names[m]; several are cut into datagrams of size bytes.
func (s *sysBatch) setMsg(m, first, n int, namelen uint32, size int) {
	h := &s.hdrs[m].hdr
	h.Name = (*byte)(unsafe.Pointer(&s.names[m]))
	h.Namelen = namelen
	h.Iov = &s.iovs[first]
	h.SetIovlen(n)
	h.Control = nil
	h.SetControllen(0)
	if n > 1 {
		c := unsafe.Slice((*byte)(unsafe.Pointer(&s.cmsgs[m][0])), cmsgWords*8)
		ch := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
		ch.Level, ch.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
		ch.SetLen(unix.CmsgLen(2))
		*(*uint16)(unsafe.Pointer(&c[unix.CmsgLen(0)])) = uint16(size)
		h.Control = &c[0]
		h.SetControllen(unix.CmsgSpace(2))
	}
	s.msgs[m].first, s.msgs[m].n = first, n
}

// writeFD is the RawConn.Write callback: it sends from s.sent on, skipping a
// message of one packet the kernel refuses, and asks to be called again when
// the socket is full (EAGAIN). A refused message of several stops it (split).
func (s *sysBatch) writeFD(fd uintptr) bool {
	n := s.count
	for s.sent < n {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[s.sent])), uintptr(n-s.sent), 0, 0, 0)
		switch {
		case e == unix.EAGAIN:
			return false
		case e == unix.EINTR:
		case e != 0 && s.msgs[s.sent].n > 1:
			s.split = e
			return true
		case e != 0: // the first message was refused (an unreachable address, say): skip it
			s.bad++
			s.sent++
		default:
			for m := s.sent; m < s.sent+int(r); m++ {
				if s.msgs[m].n > 1 {
					s.segmented += uint64(s.msgs[m].n)
				}
			}
			s.sent += int(r)
		}
	}
	return true
}

// canSegment reports whether the kernel takes UDP_SEGMENT on this socket.
func canSegment(raw syscall.RawConn) bool {
	ok := false
	_ = raw.Control(func(fd uintptr) {
		_, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		ok = err == nil
	})
	return ok
}

// setName writes message i's destination in the socket's family and returns
// its length; false when the socket cannot reach it (IPv6 on an IPv4 socket).
func (s *sysBatch) setName(i int, ip netip.Addr, port uint16) (uint32, bool) {
	p := unsafe.Pointer(&s.names[i])
	if s.family == unix.AF_INET {
		if !ip.Is4() {
			return 0, false
		}
		sa := (*unix.RawSockaddrInet4)(p)
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
		bigEndian(&sa.Port, port)
		return unix.SizeofSockaddrInet4, true
	}
	sa := (*unix.RawSockaddrInet6)(p)
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()} // IPv4 as ::ffff:a.b.c.d
	bigEndian(&sa.Port, port)
	return unix.SizeofSockaddrInet6, true
}

// bigEndian stores v in network byte order (sockaddr ports are).
func bigEndian(dst *uint16, v uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(v>>8), byte(v)
}

// socketFamily asks the kernel for the socket's family: a "udp" socket bound
// to 0.0.0.0 may well be a dual-stack IPv6 one.
func socketFamily(raw syscall.RawConn) int {
	family := unix.AF_INET6
	_ = raw.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil {
			family = v
		}
	})
	return family
}

// enableRxTimestamps asks the kernel to stamp each received packet
// (SO_TIMESTAMPNS); readTimed then reads the stamp.
func enableRxTimestamps(raw syscall.RawConn) {
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	})
}

// readBufferSize is the socket's receive buffer as asked for: SO_RCVBUF reads
// twice that (the kernel's bookkeeping share); 0 when it cannot be read.
func readBufferSize(raw syscall.RawConn) int {
	size := 0
	_ = raw.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
			size = v / 2
		}
	})
	return size
}

// oobSize holds one SCM_TIMESTAMPNS control message.
const oobSize = 64

// readTimed reads one packet and the kernel's receive time (unix ns), or the
// time of reading when the kernel gave none.
func (c *Conn) readTimed(b []byte) (int, int64, netip.AddrPort, error) {
	var words [oobSize / 8]uint64 // 8-aligned, for the cmsghdr read in place
	oob := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), oobSize)
	n, oobn, _, addr, err := c.conn.ReadMsgUDPAddrPort(b, oob)
	if err != nil {
		return n, 0, addr, err
	}
	if at, ok := rxTimestamp(oob[:oobn]); ok {
		return n, at, addr, nil
	}
	return n, time.Now().UnixNano(), addr, nil
}

// rxTimestamp finds SCM_TIMESTAMPNS in a control message buffer.
func rxTimestamp(oob []byte) (int64, bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && l >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
			ts := (*unix.Timespec)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
			return ts.Nano(), true
		}
		oob = oob[min(unix.CmsgSpace(l-unix.CmsgLen(0)), len(oob)):]
	}
	return 0, false
}
