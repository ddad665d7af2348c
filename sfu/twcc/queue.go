package twcc

// Queueing delay: a packet's one-way delay (arrival on the receiver's clock
// less send time on ours, so with an unknown constant offset) over the
// smallest seen lately is the time it waited in queues. GCC's delay signal
// is the trend of its changes, which a CPU-starved receiver fakes: it stamps
// arrivals late in bursts of 10-70 ms, and on loopback that cut a member's
// estimate to a third. A link whose queue builds shows much more (100-300 ms
// behind a 500 kbit/s bottleneck), so an overuse counts only once the queue
// it implies is there (see Estimator.onFeedbackLocked).

const (
	owdBuckets    = 8
	owdBucketSpan = 1_250_000_000 // ns: the minimum is over the last 10 s
	// overuseMinQueue is the queueing delay (ns) below which an overuse
	// signal is not acted on: a starved receiver's stamping, not a queue.
	overuseMinQueue = 40_000_000
)

// owdMin keeps the smallest one-way delay of the last owdBuckets x
// owdBucketSpan.
type owdMin struct {
	mins  [owdBuckets]int64 // ns; per bucket
	spans [owdBuckets]int64 // which span of owdBucketSpan each bucket holds, plus one (0: unused)
}

// add records a one-way delay seen at now and returns the queueing delay it
// shows (ns, >= 0).
func (m *owdMin) add(owd, now int64) int64 {
	span := now/owdBucketSpan + 1
	i := int(span % owdBuckets)
	if m.spans[i] != span {
		m.spans[i], m.mins[i] = span, owd
	} else {
		m.mins[i] = min(m.mins[i], owd)
	}
	lo := owd
	for j := range m.mins {
		if m.spans[j] != 0 && span-m.spans[j] < owdBuckets {
			lo = min(lo, m.mins[j])
		}
	}
	return owd - lo
}
