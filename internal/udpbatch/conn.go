// Package udpbatch batches a UDP socket's writes: a goroutine about to send
// many packets (one publisher packet to every subscriber) corks the socket,
// its writes are queued, and they go to the kernel together when it uncorks,
// with one sendmmsg(2) on Linux instead of one sendto(2) each. The kernel's
// per-call cost is then paid once per batch. Where Linux segments UDP (GSO),
// the queued packets for one destination that follow one another with one
// size go as one message the kernel cuts into datagrams: a keyframe sent to
// each subscriber in a row goes down the stack once per subscriber.
package udpbatch

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Batch limits: a batch holds up to batchSize packets; a writer that finds the
// queue full while the other batch is being sent waits for it, so a conn holds
// at most 2*batchSize packets.
const (
	batchSize = 64
	slotSize  = 1500 // bytes kept per queued packet; a larger one grows its slot once
)

// ErrNotUDP means New was given a socket it cannot batch.
var ErrNotUDP = errors.New("udpbatch: not a UDP socket")

// Conn is a UDP socket whose writes can be batched. While any goroutine holds
// it corked, writes are copied into a queue that is sent when a corker
// uncorks or a batch fills; writes while nobody holds it corked go out at
// once, as on the bare socket. Packets leave in the order they were written.
// Reads go straight to the socket.
type Conn struct {
	conn   *net.UDPConn
	raw    syscall.RawConn
	family int // the socket's address family (AF_INET or AF_INET6), for the addresses of batched packets

	mu       sync.Mutex
	corks    int       // guarded by mu: goroutines holding the conn corked
	flushing bool      // guarded by mu: a goroutine is sending; it drains the queue before it stops
	closed   bool      // guarded by mu
	queue    *batch    // guarded by mu: the packets waiting, oldest first
	spare    *batch    // guarded by mu: the other batch; nil while the flusher sends it
	room     sync.Cond // on mu: the flusher handed a batch back (writers wait on a full queue)

	dropped atomic.Uint64 // queued packets the kernel refused
	gso     atomic.Bool   // a destination's run of packets goes as one segmented message (Linux UDP GSO)

	observe atomic.Pointer[func(b []byte, at int64)] // see ObserveReads
}

// New wraps c. The caller keeps c: Close closes it too.
func New(c net.PacketConn) (*Conn, error) {
	u, ok := c.(*net.UDPConn)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrNotUDP, c)
	}
	raw, err := u.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("udpbatch: %w", err)
	}
	b := &Conn{conn: u, raw: raw, family: socketFamily(raw)}
	b.gso.Store(canSegment(raw))
	b.queue, b.spare = b.newBatch(), b.newBatch()
	b.room.L = &b.mu
	return b, nil
}

// Cork holds writes back until the matching Uncork. Calls nest and may come
// from many goroutines at once.
func (c *Conn) Cork() {
	c.mu.Lock()
	c.corks++
	c.mu.Unlock()
}

// Uncork ends a Cork and sends what is queued (also what other goroutines,
// still corked, wrote meanwhile: a packet waits at most as long as the longest
// corked stretch it falls in, never until the conn is idle).
func (c *Conn) Uncork() {
	c.mu.Lock()
	if c.corks > 0 {
		c.corks--
	}
	if !c.flushing && c.queue.n > 0 {
		c.flushLocked()
	}
	c.mu.Unlock()
}

// WriteToAddrPort sends b to addr, or queues a copy while the conn is corked
// (then an error from the kernel is counted in Dropped, not returned: a UDP
// packet is as good as lost in the network either way).
func (c *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	c.mu.Lock()
	if c.corks == 0 && !c.flushing && c.queue.n == 0 && !c.closed {
		c.mu.Unlock()
		return c.conn.WriteToUDPAddrPort(b, addr)
	}
	for !c.closed && c.queue.n == batchSize {
		if !c.flushing {
			c.flushLocked()
			continue
		}
		c.room.Wait()
	}
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.queue.add(b, addr.Addr().Unmap(), addr.Port())
	if !c.flushing && (c.corks == 0 || c.queue.n == batchSize) {
		c.flushLocked()
	}
	c.mu.Unlock()
	return len(b), nil
}

// flushLocked sends the queue, and goes on while it refills, until it is empty
// or (while others hold the conn corked) not full: they flush the rest when
// they uncork. c.mu is held on entry and return, released while sending.
func (c *Conn) flushLocked() {
	c.flushing = true
	for c.queue.n > 0 {
		b := c.queue
		c.queue, c.spare = c.spare, nil
		c.mu.Unlock()
		c.dropped.Add(uint64(c.send(b)))
		b.n = 0
		c.mu.Lock()
		c.spare = b
		c.room.Broadcast()
		if c.corks > 0 && c.queue.n < batchSize {
			break
		}
	}
	c.flushing = false
	c.room.Broadcast() // Close waits for the flusher to stop
}

// WriteTo is WriteToAddrPort for a *net.UDPAddr.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	u, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("udpbatch: write to %v: %w", addr, ErrNotUDP)
	}
	return c.WriteToAddrPort(b, u.AddrPort())
}

// SetReadBuffer asks the kernel for an n-byte receive buffer and returns the
// size it granted (0 where unknown): Linux caps it at net.core.rmem_max.
// A burst that overflows the buffer is lost, however fresh it was.
func (c *Conn) SetReadBuffer(n int) (int, error) {
	if err := c.conn.SetReadBuffer(n); err != nil {
		return 0, fmt.Errorf("udpbatch: receive buffer: %w", err)
	}
	return readBufferSize(c.raw), nil
}

// SetSegmentation turns the segmentation of runs of packets to one
// destination (UDP GSO) on or off, and reports whether it is on: never where
// the kernel cannot. It is on from New where it can, and goes off by itself
// when the kernel says the route cannot segment.
func (c *Conn) SetSegmentation(on bool) bool {
	on = on && canSegment(c.raw)
	c.gso.Store(on)
	return on
}

// Dropped counts the queued packets the kernel refused.
func (c *Conn) Dropped() uint64 { return c.dropped.Load() }

// ObserveReads has f told of every packet read, with the time (unix ns) it
// reached the socket: the kernel's receive timestamp where there is one
// (SO_TIMESTAMPNS on Linux), else the time of reading. f runs on the reading
// goroutine and must not keep b. Call it before the first read.
func (c *Conn) ObserveReads(f func(b []byte, at int64)) {
	if f == nil {
		c.observe.Store(nil)
		return
	}
	enableRxTimestamps(c.raw)
	c.observe.Store(&f)
}

// ReadFromAddrPort reads one packet from the socket.
func (c *Conn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	f := c.observe.Load()
	if f == nil {
		return c.conn.ReadFromUDPAddrPort(b)
	}
	n, at, addr, err := c.readTimed(b)
	if err == nil {
		(*f)(b[:n], at)
	}
	return n, addr, err
}

// ReadFrom reads one packet from the socket.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	if c.observe.Load() == nil {
		return c.conn.ReadFrom(b)
	}
	n, addr, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// Close sends what is queued and closes the socket.
func (c *Conn) Close() error {
	c.mu.Lock()
	for c.flushing {
		c.room.Wait()
	}
	if c.queue.n > 0 {
		c.flushLocked()
	}
	c.closed = true
	c.room.Broadcast()
	c.mu.Unlock()
	return c.conn.Close()
}

// LocalAddr is the socket's address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// SetDeadline sets the socket's read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the socket's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the socket's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// batch is one set of queued packets, with the platform's scratch to send them.
type batch struct {
	n    int
	len  [batchSize]int
	ip   [batchSize]netip.Addr
	port [batchSize]uint16
	buf  [batchSize][]byte
	sys  sysBatch
}

func (c *Conn) newBatch() *batch {
	b := &batch{}
	for i := range b.buf {
		b.buf[i] = make([]byte, slotSize)
	}
	b.sys.init(c)
	return b
}

func (b *batch) add(p []byte, ip netip.Addr, port uint16) {
	i := b.n
	if len(p) > len(b.buf[i]) {
		b.buf[i] = make([]byte, len(p))
	}
	b.len[i] = copy(b.buf[i], p)
	b.ip[i], b.port[i] = ip, port
	b.n++
}

// Group is several Conns corked and uncorked together: a server with one
// socket per local address hands a burst of sends to whichever sockets carry
// it.
type Group []*Conn

// Cork corks every Conn of the group.
func (g Group) Cork() {
	for _, c := range g {
		c.Cork()
	}
}

// Uncork uncorks every Conn of the group.
func (g Group) Uncork() {
	for _, c := range g {
		c.Uncork()
	}
}
