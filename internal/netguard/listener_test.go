package netguard

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fakeListener hands out scripted results: an error or a pipe conn from addr.
type fakeListener struct {
	mu      sync.Mutex
	results []any // error or string (remote address)
	closed  chan struct{}
	once    sync.Once
}

func newFake(results ...any) *fakeListener {
	return &fakeListener{results: results, closed: make(chan struct{})}
}

type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

func (f *fakeListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	if len(f.results) == 0 {
		f.mu.Unlock()
		<-f.closed
		return nil, net.ErrClosed
	}
	r := f.results[0]
	f.results = f.results[1:]
	f.mu.Unlock()
	switch r := r.(type) {
	case error:
		return nil, r
	case string:
		a, b := net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, b); _ = b.Close() }()
		ta, err := net.ResolveTCPAddr("tcp", r)
		if err != nil {
			panic(err)
		}
		return addrConn{Conn: a, remote: ta}, nil
	}
	panic(fmt.Sprintf("bad result %T", r))
}

func (f *fakeListener) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

func emfile() error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestAcceptRetriesTemporaryErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFake(emfile(), emfile(), syscall.ENFILE, "10.0.0.1:5000")
	l := Wrap(f, Options{Name: "test", Logger: quiet()})
	defer l.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept: got %v; want the connection after the errors", err)
	}
	_ = c.Close()
	if got := l.Stats().AcceptErrors; got != 3 {
		t.Errorf("AcceptErrors: got %d; want 3", got)
	}
}

func TestAcceptReturnsPermanentErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	perm := errors.New("listener broken")
	l := Wrap(newFake(perm), Options{Logger: quiet()})
	defer l.Close()
	if _, err := l.Accept(); !errors.Is(err, perm) {
		t.Errorf("Accept: got %v; want %v", err, perm)
	}
}

func TestCloseEndsBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	errs := make([]any, 100)
	for i := range errs {
		errs[i] = emfile()
	}
	l := Wrap(newFake(errs...), Options{Logger: quiet()})
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // in a backoff by now
	_ = l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: got %v; want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still backing off 5 s after Close")
	}
}

func TestCaps(t *testing.T) {
	defer goleak.VerifyNone(t)
	tests := []struct {
		name     string
		lim      Limits
		from     []string // remote addresses, in order
		accepted []int    // indexes of from that get through
		refused  map[string]uint64
	}{
		{"per ip", Limits{PerIP: 2}, []string{"10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3", "10.0.0.2:1"}, []int{0, 1, 3}, map[string]uint64{ReasonPerIP: 1, ReasonTotal: 0}},
		{"total", Limits{Total: 2}, []string{"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"}, []int{0, 1}, map[string]uint64{ReasonTotal: 1, ReasonPerIP: 0}},
		{"ipv4 in ipv6 is one client", Limits{PerIP: 1}, []string{"10.0.0.1:1", "[::ffff:10.0.0.1]:2"}, []int{0}, map[string]uint64{ReasonPerIP: 1, ReasonTotal: 0}},
		{"no caps", Limits{}, []string{"10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3"}, []int{0, 1, 2}, map[string]uint64{ReasonPerIP: 0, ReasonTotal: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			results := make([]any, len(tc.from))
			for i, a := range tc.from {
				results[i] = a
			}
			var refusedWith []string
			l := Wrap(newFake(results...), Options{Logger: quiet(), Counter: NewCounter(tc.lim),
				Refuse: func(_ net.Conn, reason string) { refusedWith = append(refusedWith, reason) }})
			defer l.Close()
			var conns []net.Conn
			for range tc.accepted {
				c, err := l.Accept()
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
			}
			for i, c := range conns {
				if got, want := c.RemoteAddr().String(), tc.from[tc.accepted[i]]; got != want {
					t.Errorf("accepted #%d: got %s; want %s", i, got, want)
				}
			}
			// The refusals after the last accepted one happen in the next Accept,
			// which then waits until the listener closes.
			rest := make(chan error)
			go func() {
				_, err := l.Accept()
				rest <- err
			}()
			waitFor(t, func() bool {
				return l.opt.Counter.refusedTotal.Load()+l.opt.Counter.refusedPerIP.Load() == uint64(len(tc.from)-len(tc.accepted))
			})
			_ = l.Close()
			if err := <-rest; !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept after the refusals: got %v; want net.ErrClosed", err)
			}
			st := l.Stats()
			for k, want := range tc.refused {
				if st.Refused[k] != want {
					t.Errorf("refused %s: got %d; want %d", k, st.Refused[k], want)
				}
			}
			if got, want := len(refusedWith), len(tc.from)-len(tc.accepted); got != want {
				t.Errorf("Refuse called %d times; want %d", got, want)
			}
			if st.Open != len(conns) {
				t.Errorf("open: got %d; want %d", st.Open, len(conns))
			}
			for _, c := range conns {
				_ = c.Close()
				_ = c.Close() // twice: released once
			}
			if got := l.Stats().Open; got != 0 {
				t.Errorf("open after closing all: got %d; want 0", got)
			}
		})
	}
}

func TestCapFreedByClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	l := Wrap(newFake("10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3"), Options{Logger: quiet(), Counter: NewCounter(Limits{PerIP: 1})})
	defer l.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	c, err = l.Accept() // 10.0.0.1:2 fits again
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RemoteAddr().String(); got != "10.0.0.1:2" {
		t.Errorf("got %s; want 10.0.0.1:2", got)
	}
	_ = c.Close()
}

// TestRealListenerEMFILE: with the process out of file descriptors, the
// wrapped listener keeps accepting once descriptors are free again.
func TestRealListenerEMFILE(t *testing.T) {
	if os.Getenv("OPENROOM_NETNS") != "1" {
		t.Skip("opens TCP connections: run inside scripts/netns-run.sh")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(ln, Options{Logger: quiet()})
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	// Use up the descriptors: the client's connect still works (the kernel
	// completes it), but accept4 gets EMFILE until some are free.
	var held []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		held = append(held, f)
		if len(held) > 1<<20 {
			t.Skip("too many descriptors allowed to use them up")
		}
	}
	// One descriptor back for the client's socket.
	_ = held[len(held)-1].Close()
	held = held[:len(held)-1]
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		for _, f := range held {
			_ = f.Close()
		}
		t.Fatalf("dial: %v", err)
	}
	defer client.Close()
	time.Sleep(100 * time.Millisecond) // accept4 fails with EMFILE meanwhile
	for _, f := range held {
		_ = f.Close()
	}
	select {
	case c, ok := <-accepted:
		if !ok {
			t.Fatal("Accept gave up")
		}
		_ = c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted 5 s after descriptors were freed")
	}
	if l.Stats().AcceptErrors == 0 {
		t.Log("no EMFILE seen (the accept may have won the race); still accepted")
	}
}

func TestCounterPeak(t *testing.T) {
	c := NewCounter(Limits{})
	ip := netip.MustParseAddr("10.0.0.1")
	for range 3 {
		c.acquire(ip)
	}
	c.release(ip)
	c.release(ip)
	if got := c.TakePeak(); got != 3 {
		t.Errorf("peak: got %d; want 3", got)
	}
	if got := c.TakePeak(); got != 1 {
		t.Errorf("peak after taking it: got %d; want 1 (the one still open)", got)
	}
}
