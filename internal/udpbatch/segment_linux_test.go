package udpbatch

import "golang.org/x/sys/unix"

func (b *batch) segmented() uint64 { return b.sys.segmented }

// noChecksums has the socket send without UDP checksums: the kernel then
// refuses to segment.
func noChecksums(c *Conn) error {
	var err error
	if cerr := c.raw.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
	}); cerr != nil {
		return cerr
	}
	return err
}
