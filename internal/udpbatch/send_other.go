//go:build !linux

package udpbatch

import (
	"net/netip"
	"syscall"
)

// sysBatch needs nothing where packets go one by one.
type sysBatch struct{}

func (s *sysBatch) init(*Conn, *batch) {}

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

// socketFamily does not matter where packets go one by one.
func socketFamily(syscall.RawConn) int { return 0 }
