package twcc

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	ptwcc "github.com/pion/interceptor/pkg/twcc"
)

// reportInterval is how often feedback goes to the sender (pion's and
// libwebrtc's default).
const reportInterval = 100 * time.Millisecond

// ReporterFactory makes the interceptor that reports to a sender (a
// publisher) when each of its packets arrived: transport-cc feedback, built
// by pion's recorder, with the arrival times of an ArrivalTable where it has
// them (the time the packet reached the socket) and the time of reading
// otherwise.
type ReporterFactory struct {
	arrivals *ArrivalTable
	now      func() time.Time
}

// NewReporterFactory returns a factory; arrivals may be nil (every packet is
// timed when read), now nil is time.Now.
func NewReporterFactory(arrivals *ArrivalTable, now func() time.Time) *ReporterFactory {
	if now == nil {
		now = time.Now
	}
	return &ReporterFactory{arrivals: arrivals, now: now}
}

// NewInterceptor implements interceptor.Factory.
func (f *ReporterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &reporter{arrivals: f.arrivals, now: f.now, start: f.now().UnixNano(),
		first: make(chan struct{}), done: make(chan struct{})}, nil
}

type reporter struct {
	interceptor.NoOp
	arrivals *ArrivalTable
	now      func() time.Time
	start    int64 // unix ns: arrival times are reported relative to it

	mu       sync.Mutex      // guards rec, started, hold and released
	rec      *ptwcc.Recorder // nil until BindRTCPWriter
	started  bool
	hold     holdback     // what the track readers recorded, in transport-wide order for the recorder
	released []heldPacket // scratch for hold.release

	first     chan struct{} // closed at the first packet: the feedback ticker starts then
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// BindRTCPWriter starts the goroutine that sends the feedback.
func (f *reporter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	f.mu.Lock()
	f.rec = ptwcc.NewRecorder(rand.Uint32())
	f.mu.Unlock()
	f.wg.Add(1)
	go f.loop(w)
	return w
}

func (f *reporter) loop(w interceptor.RTCPWriter) {
	defer f.wg.Done()
	select { // a publisher connection that has received nothing yet does not tick
	case <-f.done:
		return
	case <-f.first:
	}
	tick := time.NewTicker(reportInterval)
	defer tick.Stop()
	for {
		select {
		case <-f.done:
			return
		case <-tick.C:
		}
		f.mu.Lock()
		f.released = f.hold.release(f.now().UnixNano(), f.released[:0])
		for _, p := range f.released {
			f.rec.Record(p.ssrc, p.seq, (p.arrival-f.start)/1000)
		}
		pkts := f.rec.BuildFeedbackPacket()
		f.mu.Unlock()
		if len(pkts) > 0 {
			_, _ = w.Write(pkts, nil)
		}
	}
}

// BindRemoteStream records every packet of a stream that negotiated
// transport-cc (its RTX stream is bound on its own, and recorded alike).
func (f *reporter) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	id := extensionID(info)
	if id == 0 {
		return r
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = interceptor.Attributes{}
		}
		h, herr := a.GetRTPHeader(b[:n]) // parsed once for every interceptor after this one
		if herr != nil {
			return n, a, nil // the reader after this one reports it
		}
		ext := h.GetExtension(id)
		if len(ext) < 2 {
			return n, a, nil
		}
		now := f.now().UnixNano()
		at, ok := int64(0), false
		if f.arrivals != nil {
			at, ok = f.arrivals.Lookup(h.SSRC, h.SequenceNumber)
		}
		if !ok {
			at = now
		}
		f.mu.Lock()
		if f.rec != nil {
			f.hold.add(h.SSRC, binary.BigEndian.Uint16(ext), at, now)
		}
		first := !f.started
		f.started = true
		f.mu.Unlock()
		if first {
			close(f.first)
		}
		return n, a, nil
	})
}

// Close stops the feedback goroutine.
func (f *reporter) Close() error {
	f.closeOnce.Do(func() { close(f.done) })
	f.wg.Wait()
	return nil
}
