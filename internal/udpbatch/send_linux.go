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

// sysBatch is a batch's sendmmsg scratch, filled in place so that a send
// allocates nothing. Its pointers point into the batch itself.
type sysBatch struct {
	hdrs   [batchSize]mmsghdr
	iovs   [batchSize]unix.Iovec
	names  [batchSize]unix.RawSockaddrInet6 // or RawSockaddrInet4, on an IPv4 socket
	family int                              // the socket's: how to write names
	count  int                              // messages prepared for this send
	sent   int                              // messages handled so far in this send
	bad    int                              // messages the kernel refused
	write  func(fd uintptr) bool
}

func (s *sysBatch) init(c *Conn) {
	s.family = c.family
	s.write = s.writeFD // made once: a method value passed to RawConn.Write would allocate per call
}

// send writes the batch with sendmmsg(2) and returns how many packets the
// kernel refused (or that had an address the socket cannot reach).
func (c *Conn) send(b *batch) int {
	s := &b.sys
	s.sent, s.bad = 0, 0
	n := 0
	for i := 0; i < b.n; i++ {
		namelen, ok := s.setName(n, b.ip[i], b.port[i])
		if !ok {
			s.bad++
			continue
		}
		s.iovs[n].Base = &b.buf[i][0]
		s.iovs[n].SetLen(b.len[i])
		h := &s.hdrs[n].hdr
		h.Name = (*byte)(unsafe.Pointer(&s.names[n]))
		h.Namelen = namelen
		h.Iov = &s.iovs[n]
		h.SetIovlen(1)
		n++
	}
	s.count = n
	if n > 0 {
		if err := c.raw.Write(s.write); err != nil { // the socket is closed
			s.bad += n - s.sent
		}
	}
	return s.bad
}

// writeFD is the RawConn.Write callback: it sends from s.sent on, skipping a
// message the kernel refuses, and asks to be called again when the socket is
// full (EAGAIN).
func (s *sysBatch) writeFD(fd uintptr) bool {
	n := s.count
	for s.sent < n {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[s.sent])), uintptr(n-s.sent), 0, 0, 0)
		switch {
		case e == unix.EAGAIN:
			return false
		case e == unix.EINTR:
		case e != 0: // the first message was refused (an unreachable address, say): skip it
			s.bad++
			s.sent++
		default:
			s.sent += int(r)
		}
	}
	return true
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
