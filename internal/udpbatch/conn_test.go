package udpbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// receiver is a UDP socket on loopback that records what arrives.
type receiver struct {
	conn *net.UDPConn
	addr netip.AddrPort
	mu   sync.Mutex
	got  [][]byte // guarded by mu
	done chan struct{}
}

func newReceiver(t *testing.T, network, ip string) *receiver {
	t.Helper()
	c, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("no %s socket on %s here: %v", network, ip, err)
	}
	_ = c.SetReadBuffer(4 << 20)
	r := &receiver{conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.got = append(r.got, append([]byte(nil), buf[:n]...))
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close(); <-r.done })
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// waitFor waits until r has n packets, or fails after 5 s.
func (r *receiver) waitFor(t *testing.T, n int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("packets received: got %d; want %d", r.count(), n)
		}
		time.Sleep(time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...)
}

// quiet asserts that r has exactly n packets after a short wait (for what must not arrive).
func (r *receiver) quiet(t *testing.T, n int) {
	t.Helper()
	time.Sleep(30 * time.Millisecond)
	if got := r.count(); got != n {
		t.Fatalf("packets received: got %d; want %d", got, n)
	}
}

func newConn(t *testing.T, network, ip string) *Conn {
	t.Helper()
	pc, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("no %s socket on %s here: %v", network, ip, err)
	}
	c, err := New(pc)
	if err != nil {
		t.Fatalf("New: got %v; want nil", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// packet is size bytes starting with the stream's id and its sequence number.
func packet(id, seq uint32, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, id)
	binary.BigEndian.PutUint32(b[4:], seq)
	return b
}

// inOrder checks that got holds sequence numbers 0..n-1 of stream id, in order.
func inOrder(t *testing.T, got [][]byte, id uint32, n int) {
	t.Helper()
	want := uint32(0)
	for _, p := range got {
		if binary.BigEndian.Uint32(p) != id {
			continue
		}
		if seq := binary.BigEndian.Uint32(p[4:]); seq != want {
			t.Fatalf("stream %d: got sequence %d; want %d", id, seq, want)
		}
		want++
	}
	if int(want) != n {
		t.Fatalf("stream %d: got %d packets; want %d", id, want, n)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCorking(t *testing.T) {
	tests := []struct {
		name   string
		writes int
		size   int
	}{
		{"a few", 5, 100},
		{"exactly one batch", batchSize, 1100},
		{"more than two batches", 3*batchSize + 7, 1100},
		{"larger than a slot", 3, slotSize + 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConn(t, "udp4", "127.0.0.1")
			r := newReceiver(t, "udp4", "127.0.0.1")
			c.Cork()
			for i := 0; i < tt.writes; i++ {
				if n, err := c.WriteToAddrPort(packet(1, uint32(i), tt.size), r.addr); err != nil || n != tt.size {
					t.Fatalf("write %d: got (%d, %v); want (%d, nil)", i, n, err, tt.size)
				}
			}
			// Only whole batches leave while corked.
			r.quiet(t, tt.writes/batchSize*batchSize)
			c.Uncork()
			got := r.waitFor(t, tt.writes)
			inOrder(t, got, 1, tt.writes)
			for _, p := range got {
				if len(p) != tt.size {
					t.Fatalf("packet size: got %d; want %d", len(p), tt.size)
				}
			}
		})
	}
}

func TestUncorkedWritesGoAtOnce(t *testing.T) {
	c := newConn(t, "udp4", "127.0.0.1")
	r := newReceiver(t, "udp4", "127.0.0.1")
	for i := 0; i < 3; i++ {
		if _, err := c.WriteTo(packet(1, uint32(i), 50), net.UDPAddrFromAddrPort(r.addr)); err != nil {
			t.Fatalf("WriteTo: got %v; want nil", err)
		}
		r.waitFor(t, i+1)
	}
	if _, err := c.WriteTo(packet(1, 9, 50), &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}); !errors.Is(err, ErrNotUDP) {
		t.Errorf("WriteTo an IPAddr: got %v; want ErrNotUDP", err)
	}
}

func TestNestedCorks(t *testing.T) {
	c := newConn(t, "udp4", "127.0.0.1")
	r := newReceiver(t, "udp4", "127.0.0.1")
	c.Cork()
	c.Cork()
	_, _ = c.WriteToAddrPort(packet(1, 0, 50), r.addr)
	c.Uncork() // sends what is queued: a packet never waits for the last corker
	r.waitFor(t, 1)
	_, _ = c.WriteToAddrPort(packet(1, 1, 50), r.addr)
	r.quiet(t, 1) // still corked once
	c.Uncork()
	inOrder(t, r.waitFor(t, 2), 1, 2)
	c.Uncork() // one too many: harmless
	_, _ = c.WriteToAddrPort(packet(1, 2, 50), r.addr)
	inOrder(t, r.waitFor(t, 3), 1, 3)
}

// Many goroutines cork, write their own stream and uncork at once: every
// packet arrives, and each stream in order.
func TestConcurrentWriters(t *testing.T) {
	c := newConn(t, "udp4", "127.0.0.1")
	const writers, rounds, perRound = 8, 40, 9
	recv := make([]*receiver, writers)
	for i := range recv {
		recv[i] = newReceiver(t, "udp4", "127.0.0.1")
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := uint32(0)
			for round := 0; round < rounds; round++ {
				corked := round%3 != 0 // some rounds write uncorked, between others' corks
				if corked {
					c.Cork()
				}
				for i := 0; i < perRound; i++ {
					_, _ = c.WriteToAddrPort(packet(uint32(w), seq, 200), recv[w].addr)
					seq++
				}
				if corked {
					c.Uncork()
				}
			}
		}()
	}
	wg.Wait()
	for w, r := range recv {
		inOrder(t, r.waitFor(t, rounds*perRound), uint32(w), rounds*perRound)
	}
	if d := c.Dropped(); d != 0 {
		t.Errorf("Dropped: got %d; want 0", d)
	}
}

func TestAddressFamilies(t *testing.T) {
	t.Run("IPv6 destination on an IPv4 socket is dropped, the rest delivered", func(t *testing.T) {
		c := newConn(t, "udp4", "127.0.0.1")
		r := newReceiver(t, "udp4", "127.0.0.1")
		c.Cork()
		_, _ = c.WriteToAddrPort(packet(1, 0, 50), r.addr)
		_, _ = c.WriteToAddrPort(packet(2, 0, 50), netip.MustParseAddrPort("[2001:db8::1]:9"))
		_, _ = c.WriteToAddrPort(packet(1, 1, 50), r.addr)
		c.Uncork()
		inOrder(t, r.waitFor(t, 2), 1, 2)
		if d := c.Dropped(); d != 1 {
			t.Errorf("Dropped: got %d; want 1", d)
		}
	})
	t.Run("IPv4 destination on a dual-stack socket", func(t *testing.T) {
		c := newConn(t, "udp", "::")
		r := newReceiver(t, "udp4", "127.0.0.1")
		c.Cork()
		_, _ = c.WriteToAddrPort(packet(1, 0, 50), r.addr)
		_, _ = c.WriteToAddrPort(packet(1, 1, 50), netip.AddrPortFrom(netip.AddrFrom16(r.addr.Addr().As16()), r.addr.Port()))
		c.Uncork()
		inOrder(t, r.waitFor(t, 2), 1, 2)
	})
	t.Run("IPv6 destination on an IPv6 socket", func(t *testing.T) {
		c := newConn(t, "udp6", "::1")
		r := newReceiver(t, "udp6", "::1")
		c.Cork()
		_, _ = c.WriteToAddrPort(packet(1, 0, 50), r.addr)
		c.Uncork()
		inOrder(t, r.waitFor(t, 1), 1, 1)
	})
}

func TestClose(t *testing.T) {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(pc)
	if err != nil {
		t.Fatal(err)
	}
	r := newReceiver(t, "udp4", "127.0.0.1")
	c.Cork()
	_, _ = c.WriteToAddrPort(packet(1, 0, 50), r.addr)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: got %v; want nil", err)
	}
	r.waitFor(t, 1) // what was queued still went out
	if _, err := c.WriteToAddrPort(packet(1, 1, 50), r.addr); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close while corked: got %v; want net.ErrClosed", err)
	}
	c.Uncork()
	if _, err := c.WriteToAddrPort(packet(1, 2, 50), r.addr); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: got %v; want net.ErrClosed", err)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(nil); !errors.Is(err, ErrNotUDP) {
		t.Errorf("New(nil): got %v; want ErrNotUDP", err)
	}
}

func TestNoAllocations(t *testing.T) {
	c := newConn(t, "udp4", "127.0.0.1")
	// A socket nobody reads (a recording receiver would allocate meanwhile,
	// and AllocsPerRun counts every goroutine's).
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	to := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	p := packet(1, 0, 1100)
	allocs := testing.AllocsPerRun(200, func() {
		c.Cork()
		for i := 0; i < 10; i++ {
			_, _ = c.WriteToAddrPort(p, to)
		}
		c.Uncork()
	})
	if allocs != 0 {
		t.Errorf("allocations per corked round of 10 writes: got %v; want 0", allocs)
	}
}

// benchSockets returns a Conn and the addresses of n loopback sockets that
// read and discard what comes; all are closed when b ends.
func benchSockets(b *testing.B, n int) (*Conn, []netip.AddrPort) {
	b.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	c, _ := New(pc)
	b.Cleanup(func() { c.Close() })
	var addrs []netip.AddrPort
	for range n {
		r, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		_ = r.SetReadBuffer(4 << 20)
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, err := r.Read(buf); err != nil {
					return
				}
			}
		}()
		addrs = append(addrs, r.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return c, addrs
}

// BenchmarkFanout sends one 1100-byte packet to each of 100 receivers, per
// op, as a fan-out does: one sendto each (uncorked) or batched (corked).
func BenchmarkFanout(b *testing.B) {
	for _, corked := range []bool{false, true} {
		name := "sendto"
		if corked {
			name = "sendmmsg"
		}
		b.Run(name, func(b *testing.B) {
			c, addrs := benchSockets(b, 100)
			p := make([]byte, 1100)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if corked {
					c.Cork()
				}
				for _, a := range addrs {
					_, _ = c.WriteToAddrPort(p, a)
				}
				if corked {
					c.Uncork()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(addrs)), "ns/packet")
		})
	}
}

func TestObserveReads(t *testing.T) {
	c := newConn(t, "udp4", "127.0.0.1")
	type seen struct {
		b  []byte
		at int64
	}
	got := make(chan seen, 16)
	c.ObserveReads(func(b []byte, at int64) { got <- seen{append([]byte(nil), b...), at} })
	s, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	to := c.LocalAddr().(*net.UDPAddr)
	buf := make([]byte, 100)
	// The kernel turns receive stamping on a little after the first socket asks
	// (a static key, switched by a work queue); a packet it did not stamp is
	// stamped when read. So a few tries: one must carry the kernel's stamp.
	var tries []string
	for try := 0; try < 5; try++ {
		before := time.Now().UnixNano()
		if _, err := s.WriteToUDP(packet(7, uint32(try), 40), to); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the packet waits in the socket: its stamp is the kernel's, not the read's
		readAt := time.Now().UnixNano()
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil || n != 40 || from.Port() != uint16(s.LocalAddr().(*net.UDPAddr).Port) {
			t.Fatalf("ReadFromAddrPort: got (%d, %v, %v); want (40, the sender, nil)", n, from, err)
		}
		o := <-got
		if !slices.Equal(o.b, buf[:n]) {
			t.Fatalf("observed bytes: got %x; want %x", o.b, buf[:n])
		}
		if o.at >= before && o.at <= readAt {
			tries = nil
			break
		}
		tries = append(tries, fmt.Sprintf("%d ns after the send, read %d ns after it", o.at-before, readAt-before))
	}
	if tries != nil {
		t.Errorf("arrival times: got %v; want one between the send and the read (the kernel's receive time)", tries)
	}

	t.Run("ReadFrom observes too", func(t *testing.T) {
		if _, err := s.WriteToUDP(packet(7, 2, 40), to); err != nil {
			t.Fatal(err)
		}
		if n, addr, err := c.ReadFrom(buf); err != nil || n != 40 || addr == nil {
			t.Fatalf("ReadFrom: got (%d, %v, %v); want (40, an address, nil)", n, addr, err)
		}
		<-got
	})
	t.Run("no allocations", func(t *testing.T) {
		c.ObserveReads(func([]byte, int64) {})
		p := packet(7, 3, 40)
		allocs := testing.AllocsPerRun(100, func() {
			_, _ = s.WriteToUDP(p, to)
			_, _, _ = c.ReadFromAddrPort(buf)
		})
		if allocs > 0 {
			t.Errorf("allocations per read: got %v; want 0", allocs)
		}
	})
}

// TestSetReadBuffer asks for a buffer under any Linux cap (net.core.rmem_max
// is at least 208 KiB) and gets exactly that back.
func TestSetReadBuffer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the granted size is read on Linux only")
	}
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const want = 64 << 10
	if got, err := c.SetReadBuffer(want); err != nil || got != want {
		t.Errorf("SetReadBuffer(%d) = %d, %v; want %d, nil", want, got, err, want)
	}
}

// segmentedSoFar is how many packets went in segmented messages (GSO).
func segmentedSoFar(c *Conn) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.flushing {
		c.room.Wait()
	}
	return c.queue.segmented() + c.spare.segmented()
}

func TestSegmentedRuns(t *testing.T) {
	type write struct {
		to   int // receiver
		size int
	}
	run := func(to, n, size int) []write {
		w := make([]write, n)
		for i := range w {
			w[i] = write{to, size}
		}
		return w
	}
	tests := []struct {
		name      string
		writes    []write
		segmented bool // some packets must have gone segmented
	}{
		{"a keyframe to each of three, one after the other",
			slices.Concat(run(0, 26, 1100), []write{{0, 700}}, run(1, 26, 1100), []write{{1, 700}}, run(2, 27, 1100)), true},
		{"a larger packet ends a run", []write{{0, 1000}, {0, 1000}, {0, 1200}, {0, 1000}, {0, 1000}, {0, 300}, {0, 1000}}, true},
		{"runs longer than a batch", run(0, 200, 1200), true},
		{"two writers interleaved", func() []write {
			var w []write
			for i := 0; i < 40; i++ {
				w = append(w, write{i % 2, 900})
			}
			return w
		}(), true},
		{"one packet each", []write{{0, 500}, {1, 500}, {2, 500}}, false},
		{"a round to each, twice", []write{{0, 500}, {1, 500}, {2, 500}, {0, 500}, {1, 500}, {2, 500}}, true},
		{"empty packets", []write{{0, 0}, {0, 0}, {0, 100}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn(t, "udp4", "127.0.0.1")
			if !c.SetSegmentation(true) {
				t.Skip("this kernel does not segment UDP")
			}
			rs := []*receiver{newReceiver(t, "udp4", "127.0.0.1"), newReceiver(t, "udp4", "127.0.0.1"), newReceiver(t, "udp4", "127.0.0.1")}
			want := make([][]int, len(rs)) // sizes per receiver, in order
			c.Cork()
			for _, w := range tt.writes {
				seq := uint32(len(want[w.to]))
				p := make([]byte, w.size)
				if w.size >= 8 {
					p = packet(uint32(w.to), seq, w.size)
				}
				if _, err := c.WriteToAddrPort(p, rs[w.to].addr); err != nil {
					t.Fatalf("write: got %v; want nil", err)
				}
				want[w.to] = append(want[w.to], w.size)
			}
			c.Uncork()
			for i, r := range rs {
				got := r.waitFor(t, len(want[i]))
				r.quiet(t, len(want[i]))
				for k, p := range got {
					if len(p) != want[i][k] {
						t.Fatalf("receiver %d packet %d: got %d bytes; want %d", i, k, len(p), want[i][k])
					}
					if len(p) >= 8 && (binary.BigEndian.Uint32(p) != uint32(i) || binary.BigEndian.Uint32(p[4:]) != uint32(k)) {
						t.Fatalf("receiver %d packet %d: got stream %d seq %d; want %d %d", i, k, binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:]), i, k)
					}
				}
			}
			if got := segmentedSoFar(c) > 0; got != tt.segmented {
				t.Errorf("segmented: got %v; want %v", got, tt.segmented)
			}
			if c.Dropped() != 0 {
				t.Errorf("dropped: got %d; want 0", c.Dropped())
			}
		})
	}
}

// TestSegmentationRefused: a socket that sends without UDP checksums
// (SO_NO_CHECK) cannot segment (the kernel says EINVAL): a run goes again
// packet by packet, and nothing is lost.
func TestSegmentationRefused(t *testing.T) {
	c := newConn(t, "udp4", "127.0.0.1")
	if !c.SetSegmentation(true) {
		t.Skip("this kernel does not segment UDP")
	}
	if err := noChecksums(c); err != nil {
		t.Skipf("SO_NO_CHECK: %v", err)
	}
	r := newReceiver(t, "udp4", "127.0.0.1")
	c.Cork()
	for i := 0; i < 100; i++ {
		_, _ = c.WriteToAddrPort(packet(7, uint32(i), 1000), r.addr)
	}
	c.Uncork()
	inOrder(t, r.waitFor(t, 100), 7, 100)
	if got := segmentedSoFar(c); got != 0 {
		t.Errorf("segmented: got %d; want 0", got)
	}
	if c.Dropped() != 0 {
		t.Errorf("dropped: got %d; want 0", c.Dropped())
	}
}

// BenchmarkFanoutRuns sends 27 packets of 1100 bytes (a keyframe) to each of
// 100 receivers, receiver by receiver, per op: segmented (UDP GSO) or not.
func BenchmarkFanoutRuns(b *testing.B) {
	for _, gso := range []bool{false, true} {
		b.Run(fmt.Sprintf("gso=%v", gso), func(b *testing.B) {
			c, addrs := benchSockets(b, 100)
			if c.SetSegmentation(gso) != gso {
				b.Skip("this kernel does not segment UDP")
			}
			p := make([]byte, 1100)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.Cork()
				for _, a := range addrs {
					for range 27 {
						_, _ = c.WriteToAddrPort(p, a)
					}
				}
				c.Uncork()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(addrs)*27), "ns/packet")
		})
	}
}
