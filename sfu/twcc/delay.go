package twcc

import "math"

// Delay-based detection, after GCC's arrival-time filter as libwebrtc runs it
// (its trendline estimator): packets sent within groupSpan form a group; the
// change in one-way delay from one group to the next is accumulated, smoothed,
// and the slope of the last trendWindow points (by arrival time) says whether
// a queue builds (overuse), drains (underuse) or neither.
const (
	groupSpan      = 5_000_000 // ns of send time one group spans
	burstArrival   = 5_000     // µs: a packet arriving this soon after its group, earlier than sent, joins it
	trendWindow    = 20
	trendSmoothing = 0.9
	trendGain      = 4.0
	trendMaxDeltas = 60
	thresholdInit  = 12.5 // ms
	thresholdMin   = 6.0
	thresholdMax   = 600.0
	thresholdUp    = 0.0087 // adaptation per ms when the trend is over the threshold
	thresholdDown  = 0.039  // ... and under it
	overuseTime    = 10.0   // ms the trend must stay over the threshold
)

// usage is the delay signal.
type usage int8

const (
	usageNormal usage = iota
	usageOver
	usageUnder
)

func (u usage) String() string {
	switch u {
	case usageOver:
		return "overuse"
	case usageUnder:
		return "underuse"
	}
	return "normal"
}

// group is a group of packets sent close together.
type group struct {
	firstSend, lastSend int64 // ns
	lastArrival         int64 // µs
	size                int
}

// delayDetector holds the groups, the trendline and the overuse detector.
type delayDetector struct {
	cur, prev  group
	haveCur    bool
	havePrev   bool
	firstArr   int64 // µs: arrival of the first group, the trendline's origin
	acc, smoot float64
	pts        [trendWindow][2]float64 // (arrival ms, smoothed delay ms)
	npts       int                     // points in pts (ring when full)
	head       int
	numDeltas  int

	threshold float64
	lastAdapt int64 // µs of arrival at the last threshold update (0: none)
	prevTrend float64
	overFor   float64 // ms the trend has been over the threshold (-1: not over)
	overCount int
	signal    usage
}

func newDelayDetector() delayDetector {
	return delayDetector{threshold: thresholdInit, overFor: -1}
}

// add takes one received packet (in send order) and returns the usage after it.
func (d *delayDetector) add(sendNs, arrivalUs int64, size int) usage {
	if !d.haveCur {
		d.cur, d.haveCur = group{firstSend: sendNs, lastSend: sendNs, lastArrival: arrivalUs, size: size}, true
		return d.signal
	}
	if sendNs < d.cur.firstSend {
		return d.signal // reordered from an earlier group: no information
	}
	inGroup := sendNs-d.cur.firstSend <= groupSpan
	if !inGroup {
		// A burst: arriving right after the group and sooner than it was sent
		// apart means it queued behind it (a router burst), so it belongs to it.
		arrD, sendD := arrivalUs-d.cur.lastArrival, (sendNs-d.cur.lastSend)/1000
		inGroup = arrD >= 0 && arrD <= burstArrival && arrD-sendD < 0
	}
	if inGroup {
		d.cur.lastSend = max(d.cur.lastSend, sendNs)
		d.cur.lastArrival = max(d.cur.lastArrival, arrivalUs)
		d.cur.size += size
		return d.signal
	}
	if d.havePrev {
		sendDelta := float64(d.cur.lastSend-d.prev.lastSend) / 1e6 // ms
		arrDelta := float64(d.cur.lastArrival-d.prev.lastArrival) / 1e3
		if arrDelta >= 0 {
			d.update(arrDelta-sendDelta, sendDelta, d.cur.lastArrival)
		}
	} else {
		d.firstArr = d.cur.lastArrival
	}
	d.prev, d.havePrev = d.cur, true
	d.cur = group{firstSend: sendNs, lastSend: sendNs, lastArrival: arrivalUs, size: size}
	return d.signal
}

// update feeds one inter-group delay variation (ms) into the trendline.
func (d *delayDetector) update(delta, sendDelta float64, arrivalUs int64) {
	d.numDeltas = min(d.numDeltas+1, trendMaxDeltas)
	d.acc += delta
	d.smoot = trendSmoothing*d.smoot + (1-trendSmoothing)*d.acc
	d.pts[d.head] = [2]float64{float64(arrivalUs-d.firstArr) / 1e3, d.smoot}
	d.head = (d.head + 1) % trendWindow
	d.npts = min(d.npts+1, trendWindow)
	trend := d.prevTrend
	if d.npts == trendWindow {
		if s, ok := slope(d.pts[:]); ok {
			trend = s
		}
	}
	d.detect(trend*float64(d.numDeltas)*trendGain, sendDelta, arrivalUs)
}

// slope is the least-squares slope of pts.
func slope(pts [][2]float64) (float64, bool) {
	var sx, sy float64
	for _, p := range pts {
		sx += p[0]
		sy += p[1]
	}
	n := float64(len(pts))
	mx, my := sx/n, sy/n
	var num, den float64
	for _, p := range pts {
		num += (p[0] - mx) * (p[1] - my)
		den += (p[0] - mx) * (p[0] - mx)
	}
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

// detect compares the modified trend with the adaptive threshold.
func (d *delayDetector) detect(trend, sendDelta float64, arrivalUs int64) {
	if d.numDeltas < 2 {
		d.signal = usageNormal
		return
	}
	switch {
	case trend > d.threshold:
		if d.overFor < 0 {
			d.overFor = sendDelta / 2
		} else {
			d.overFor += sendDelta
		}
		d.overCount++
		if d.overFor > overuseTime && d.overCount > 1 && trend >= d.prevTrend {
			d.overFor, d.overCount = 0, 0
			d.signal = usageOver
		}
	case trend < -d.threshold:
		d.overFor, d.overCount = -1, 0
		d.signal = usageUnder
	default:
		d.overFor, d.overCount = -1, 0
		d.signal = usageNormal
	}
	d.prevTrend = trend
	d.adapt(trend, arrivalUs)
}

// adapt moves the threshold towards the trend: slowly up, faster down, so
// that competing TCP flows do not starve the call and a real queue is seen.
func (d *delayDetector) adapt(trend float64, arrivalUs int64) {
	if d.lastAdapt == 0 {
		d.lastAdapt = arrivalUs
	}
	abs := math.Abs(trend)
	if abs > d.threshold+15 { // a spike: no adaptation to it
		d.lastAdapt = arrivalUs
		return
	}
	k := thresholdUp
	if abs < d.threshold {
		k = thresholdDown
	}
	dt := min(float64(arrivalUs-d.lastAdapt)/1e3, 100)
	d.threshold = min(max(d.threshold+k*(abs-d.threshold)*dt, thresholdMin), thresholdMax)
	d.lastAdapt = arrivalUs
}
