//go:build !linux

package udpbatch

import (
	"net/netip"
	"syscall"
	"time"
)

// sysBatch needs nothing where packets go one by one.
type sysBatch struct{}

func (s *sysBatch) init(*Conn) {}

// send writes the batch one packet at a time (no sendmmsg here) and returns
// how many the kernel refused.
func (c *Conn) send(b *batch) int {
	bad := 0
	for i := 0; i < b.n; i++ {
		if _, err := c.conn.WriteToUDPAddrPort(b.buf[i][:b.len[i]], netip.AddrPortFrom(b.ip[i], b.port[i])); err != nil {
			bad++
		}
	}
	return bad
}

// canSegment: no UDP segmentation offload here.
func canSegment(syscall.RawConn) bool { return false }

// socketFamily does not matter where packets go one by one.
func socketFamily(syscall.RawConn) int { return 0 }

// enableRxTimestamps does nothing here: reads are timed when they return.
func enableRxTimestamps(syscall.RawConn) {}

// readTimed reads one packet, timed when the read returns.
func (c *Conn) readTimed(b []byte) (int, int64, netip.AddrPort, error) {
	n, addr, err := c.conn.ReadFromUDPAddrPort(b)
	return n, time.Now().UnixNano(), addr, err
}

// readBufferSize is unknown here.
func readBufferSize(syscall.RawConn) int { return 0 }
