package loadgen

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

// loopServer is a Server in process: every packet a publisher writes goes to
// every member that joined after it, as a server that forwards would. It runs
// the load (members, pumps, accounting) through the Server interface without
// a network.
type loopServer struct {
	mu   sync.Mutex
	pubs []*loopPublication
}

// loopStream is one track as one member receives it.
type loopStream struct {
	video bool
	ch    chan []byte
}

type loopConn struct {
	m    *Member
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func (c *loopConn) receive(s *loopStream) {
	c.wg.Go(func() {
		c.m.Receive(s.video, func(b []byte) (int, error) {
			select {
			case pkt := <-s.ch:
				return copy(b, pkt), nil
			case <-c.done:
				return 0, io.EOF
			}
		})
	})
}

func (c *loopConn) Close() {
	c.once.Do(func() { close(c.done) })
	c.wg.Wait()
}

type loopPublication struct {
	*loopConn
	mu    sync.Mutex
	sinks []*loopStream // every receiver's streams of this publisher
}

func (p *loopPublication) write(video bool, pkt *rtp.Packet) error {
	b, err := pkt.Marshal()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.sinks {
		if s.video == video {
			select {
			case s.ch <- b:
			default: // a full queue loses the packet, as a full socket would
			}
		}
	}
	return nil
}

func (p *loopPublication) WriteVideo(pkt *rtp.Packet) error { return p.write(true, pkt) }
func (p *loopPublication) WriteAudio(pkt *rtp.Packet) error { return p.write(false, pkt) }
func (p *loopPublication) AudioLevelID() uint8              { return 0 }

// attach makes c receive every publisher's tracks.
func (s *loopServer) attach(c *loopConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pubs {
		for _, video := range []bool{true, false} {
			st := &loopStream{video: video, ch: make(chan []byte, 4096)}
			p.mu.Lock()
			p.sinks = append(p.sinks, st)
			p.mu.Unlock()
			c.receive(st)
		}
	}
}

func (s *loopServer) Subscribe(ctx context.Context, room string, m *Member) (Conn, error) {
	c := &loopConn{m: m, done: make(chan struct{})}
	s.attach(c)
	m.Joined()
	return c, nil
}

func (s *loopServer) Publish(ctx context.Context, room string, m *Member, opts PublishOptions) (Publication, error) {
	if !opts.Video {
		return nil, errors.New("loopServer: video only")
	}
	p := &loopPublication{loopConn: &loopConn{m: m, done: make(chan struct{})}}
	s.attach(p.loopConn)
	m.Joined()
	s.mu.Lock()
	s.pubs = append(s.pubs, p)
	s.mu.Unlock()
	opts.Connected()
	return p, nil
}

// TestRunServer runs the load through a Server other than openroom's
// signaling: what the members receive is accounted as it is for openroom, and
// every goroutine of the run ends with it.
func TestRunServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfg := DefaultConfig()
	cfg.Server = &loopServer{}
	cfg.Publishers, cfg.Subscribers = 1, 3
	cfg.Settle, cfg.Warmup, cfg.Window = 50*time.Millisecond, 200*time.Millisecond, time.Second
	cfg.Progress = func(Progress) {} // its goroutine too must end
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := Run(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.Publishers != 1 || r.Subscribers != 3 {
		t.Errorf("members: got %d publishers, %d subscribers; want 1, 3", r.Publishers, r.Subscribers)
	}
	if r.VideoSent == 0 || r.AudioSent == 0 || r.DeliveredRatio < 0.9 || r.DeliveredRatio > 1.1 {
		t.Errorf("got video %d, audio %d sent, %.3f delivered; want both sent, about all delivered", r.VideoSent, r.AudioSent, r.DeliveredRatio)
	}
	if r.LossPct != 0 || r.DelaySamples < r.Forwarded/2 || r.DelayP99Ms <= 0 {
		t.Errorf("got loss %.2f %%, %d delays (p99 %.2f ms) of %d forwarded; want no loss, stamped packets measured", r.LossPct, r.DelaySamples, r.DelayP99Ms, r.Forwarded)
	}
	if r.JoinP50Ms < 0 || r.PublisherJoinP50Ms < 0 || r.FirstPacketMaxMs <= 0 {
		t.Errorf("join times: got join %.2f, first packet max %.2f, publisher %.2f ms; want them measured", r.JoinP50Ms, r.FirstPacketMaxMs, r.PublisherJoinP50Ms)
	}
	if r.ServerPacketsOut != -1 || r.ServerNACKed != -1 {
		t.Errorf("server counters: got %d, %d; want -1 (no openroom /metrics)", r.ServerPacketsOut, r.ServerNACKed)
	}
}
