package sfu

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// resettableGCC is a GCC estimator that can be restarted at a given rate.
// libwebrtc feeds a successful probe's result into its delay-based estimator;
// pion's GCC has no such input, and after one spurious overuse (a CPU stall on
// the receiver looks like queueing) it falls to 0.85x of a rate measured over
// a few packets and climbs back at 8 % a second. Restarting it at the rate a
// probe proved lets it continue from there.
type resettableGCC struct {
	newGCC func(initial int) (*gcc.SendSideBWE, error)

	mu      sync.Mutex // guards inner, streams
	inner   *gcc.SendSideBWE
	streams map[uint32]*gccStream
	onRate  func(int)
}

// gccStream is one local stream: pion holds the writer returned for it once,
// so it must keep working across restarts.
type gccStream struct {
	info    *interceptor.StreamInfo
	next    interceptor.RTPWriter // pion's writer after the estimator
	mu      sync.RWMutex          // guards through
	through interceptor.RTPWriter // the current estimator's writer
}

func newResettableGCC(newGCC func(initial int) (*gcc.SendSideBWE, error), initial int) (*resettableGCC, error) {
	g, err := newGCC(initial)
	if err != nil {
		return nil, err
	}
	return &resettableGCC{newGCC: newGCC, inner: g, streams: map[uint32]*gccStream{}}, nil
}

// Reset restarts the estimator at initial bits/s.
func (r *resettableGCC) Reset(initial int) error {
	g, err := r.newGCC(initial)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.inner
	r.inner = g
	if r.onRate != nil {
		g.OnTargetBitrateChange(r.onRate)
	}
	for _, s := range r.streams {
		w := g.AddStream(s.info, s.next)
		s.mu.Lock()
		s.through = w
		s.mu.Unlock()
	}
	r.mu.Unlock()
	return old.Close()
}

func (r *resettableGCC) AddStream(info *interceptor.StreamInfo, next interceptor.RTPWriter) interceptor.RTPWriter {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &gccStream{info: info, next: next, through: r.inner.AddStream(info, next)}
	r.streams[info.SSRC] = s
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		s.mu.RLock()
		w := s.through
		s.mu.RUnlock()
		return w.Write(h, payload, a)
	})
}

func (r *resettableGCC) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	r.mu.Lock()
	g := r.inner
	r.mu.Unlock()
	return g.WriteRTCP(pkts, a)
}

func (r *resettableGCC) GetTargetBitrate() int {
	r.mu.Lock()
	g := r.inner
	r.mu.Unlock()
	return g.GetTargetBitrate()
}

func (r *resettableGCC) OnTargetBitrateChange(f func(int)) {
	r.mu.Lock()
	r.onRate = f
	r.inner.OnTargetBitrateChange(f)
	r.mu.Unlock()
}

func (r *resettableGCC) GetStats() map[string]any {
	r.mu.Lock()
	g := r.inner
	r.mu.Unlock()
	return g.GetStats()
}

func (r *resettableGCC) Close() error {
	r.mu.Lock()
	g := r.inner
	r.mu.Unlock()
	return g.Close()
}

var _ cc.BandwidthEstimator = (*resettableGCC)(nil)
