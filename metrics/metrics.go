// Package metrics exposes openroom's counters to Prometheus. Every value is read
// from the parts' own Stats() at scrape time, so the media path pays nothing
// for metrics beyond its own counters.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/signaling"
)

// Sources are the parts metrics read. Nil funcs are skipped (a part that is off).
type Sources struct {
	Rooms     func() room.Stats
	Signaling func() signaling.Stats
	Bridge    func() BridgeStats
	TURN      func() TURNStats
}

// BridgeStats mirrors the mini-program bridge's counters (kept here so metrics
// need not import the bridge).
type BridgeStats struct {
	Pushers, Viewers, Sources, TranscodeErrors float64
}

// TURNStats mirrors the TURN server's counters.
type TURNStats struct {
	Allocations, Refusals float64
}

type collector struct {
	src Sources

	rooms, members, tracks                  *prometheus.Desc
	packets, bytes, nacks, plis             *prometheus.Desc
	conns, messages, errors                 *prometheus.Desc
	pushers, viewers, sources, transcodeErr *prometheus.Desc
	turnAllocs, turnRefusals                *prometheus.Desc
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("openroom_"+name, help, labels, nil)
}

// Handler returns /metrics for the given sources, with Go runtime and process metrics.
func Handler(src Sources) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&collector{
		src:          src,
		rooms:        desc("rooms", "Rooms that exist now."),
		members:      desc("members", "Room members now, by kind (webrtc: browser, rtmp: mini-program or RTMP pusher, http: legacy client heartbeating over HTTP).", "kind"),
		tracks:       desc("tracks", "Published tracks now."),
		packets:      desc("rtp_packets_total", "RTP packets: in from publishers, out to subscribers.", "direction"),
		bytes:        desc("rtp_payload_bytes_total", "RTP payload bytes: in from publishers, out to subscribers.", "direction"),
		nacks:        desc("nacked_packets_total", "Packets subscribers asked to have resent (NACK)."),
		plis:         desc("keyframe_requests_total", "Keyframe requests (PLI/FIR) passed on to publishers."),
		conns:        desc("signaling_connections", "Open signaling WebSockets."),
		messages:     desc("signaling_messages_total", "Signaling messages received, by type.", "type"),
		errors:       desc("signaling_errors_total", "Signaling error replies sent, by code.", "code"),
		pushers:      desc("bridge_pushers", "RTMP streams publishing into rooms now."),
		viewers:      desc("bridge_viewers", "FLV and RTMP players now."),
		sources:      desc("bridge_sources", "Publishers converted for FLV/RTMP players now."),
		transcodeErr: desc("bridge_transcoder_errors_total", "Streams ended by an audio transcoder error."),
		turnAllocs:   desc("turn_allocations", "TURN allocations now."),
		turnRefusals: desc("turn_refusals_total", "TURN requests refused (forbidden peers, quotas, bad credentials)."),
	})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if c.src.Rooms != nil {
		st := c.src.Rooms()
		gauge(c.rooms, float64(st.Rooms))
		for kind, n := range st.MembersByKind {
			gauge(c.members, float64(n), kind)
		}
		gauge(c.tracks, float64(st.Tracks))
		counter(c.packets, float64(st.Media.PacketsIn), "in")
		counter(c.packets, float64(st.Media.PacketsOut), "out")
		counter(c.bytes, float64(st.Media.BytesIn), "in")
		counter(c.bytes, float64(st.Media.BytesOut), "out")
		counter(c.nacks, float64(st.Media.NACKs))
		counter(c.plis, float64(st.Media.KeyframeRequests))
	}
	if c.src.Signaling != nil {
		st := c.src.Signaling()
		gauge(c.conns, float64(st.Connections))
		for typ, n := range st.Messages {
			counter(c.messages, float64(n), typ)
		}
		for code, n := range st.Errors {
			counter(c.errors, float64(n), strconv.Itoa(code))
		}
	}
	if c.src.Bridge != nil {
		st := c.src.Bridge()
		gauge(c.pushers, st.Pushers)
		gauge(c.viewers, st.Viewers)
		gauge(c.sources, st.Sources)
		counter(c.transcodeErr, st.TranscodeErrors)
	}
	if c.src.TURN != nil {
		st := c.src.TURN()
		gauge(c.turnAllocs, st.Allocations)
		counter(c.turnRefusals, st.Refusals)
	}
}
