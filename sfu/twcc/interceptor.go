package twcc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/openroom/openroom/sfu/rtcpin"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// Factory makes the interceptor of one connection, bound to its estimator.
type Factory struct{ est *Estimator }

// NewFactory returns a factory whose interceptor stamps and records every
// packet into est and feeds it the receiver's feedback. Register it once per
// connection (pion builds one interceptor per connection from it).
func NewFactory(est *Estimator) *Factory { return &Factory{est: est} }

// NewInterceptor implements interceptor.Factory.
func (f *Factory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &sender{est: f.est}, nil
}

type sender struct {
	interceptor.NoOp
	est *Estimator
}

// stream is one local stream's stamping state.
type stream struct {
	mu  sync.Mutex // guards buf from header set to marshal: a stream may be written from two goroutines
	buf [2]byte    // the extension's payload, referenced by the header until written
}

// BindLocalStream stamps each packet of a stream that negotiated transport-cc.
func (s *sender) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	id := extensionID(info)
	if id == 0 {
		return w
	}
	st := &stream{}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if _, err := s.est.Stamp(h, id, &st.buf, len(payload), 0); err != nil {
			return 0, err
		}
		return w.Write(h, payload, a)
	})
}

// ErrTooLarge is Stamp's answer for a packet larger than the sender can send.
var ErrTooLarge = errors.New("twcc: packet larger than the sender's limit")

// Stamp gives h the transport-cc extension id, its payload slot holding the
// next transport-wide sequence number, and records the packet (h, with
// payloadLen bytes of payload and its padding) as leaving now. The header
// keeps slot as the extension's payload: the caller holds it unchanged until
// h is marshalled. It returns the packet's marshalled size; a packet over
// limit (0: no limit) gets no number and ErrTooLarge.
func (e *Estimator) Stamp(h *rtp.Header, id uint8, slot *[2]byte, payloadLen, limit int) (int, error) {
	if err := h.SetExtension(id, slot[:]); err != nil {
		return 0, err
	}
	size := h.MarshalSize() + payloadLen
	if h.Padding {
		size += int(h.PaddingSize)
	}
	if limit > 0 && size > limit {
		return 0, fmt.Errorf("%w: %d bytes, over %d", ErrTooLarge, size, limit)
	}
	binary.BigEndian.PutUint16(slot[:], e.sent(size))
	return size, nil
}

// extensionID is the transport-cc header extension's ID on a stream, 0 when
// it was not negotiated.
func extensionID(info *interceptor.StreamInfo) uint8 {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// BindRTCPReader feeds transport-cc reports to the estimator; every packet is
// passed on unchanged. Read in place: nothing is parsed into objects.
func (s *sender) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil {
			return n, a, err
		}
		// A malformed datagram is the reader's after this one to report;
		// the reports before the fault still count.
		_ = rtcpin.Walk(b[:n], func(p rtcpin.Packet) bool {
			if p.IsTransportCC() {
				_ = s.est.OnFeedback(p.Raw)
			}
			return true
		})
		return n, a, nil
	})
}
