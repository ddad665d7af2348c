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
	Limits    func() LimitStats
	WHIP      func() WHIPStats
	Recording func() RecordingStats
	Relay     func() RelayStats // cluster mode only
	// Cluster reads the cluster's nodes (cluster mode); nil on a single node:
	// no cluster series. It must give up on Redis within about a second: a
	// scrape must not hang.
	Cluster func() ClusterStats
}

// ClusterStats are the cluster's figures, read from Redis at scrape time.
type ClusterStats struct {
	RedisUp bool          // Redis answered; when false, Nodes is not known (not exported)
	Nodes   []ClusterNode // the live nodes
}

// ClusterNode is one live node's load.
type ClusterNode struct {
	ID                          string
	Members, Tracks, CPU, Rooms float64 // CPU in cores
}

// WHIPStats are the WHIP/WHEP server's counters.
type WHIPStats struct {
	Sessions map[string]float64 // now, by protocol: whip, whep
	Refused  map[string]float64 // POSTs refused, by HTTP status
}

// RecordingStats are the recorders' counters.
type RecordingStats struct {
	Rooms       float64 // rooms recording now
	Files       float64 // files started
	Bytes       float64 // bytes written
	WriteErrors float64 // recordings stopped by a write error (disk full...)
	Dropped     float64 // packets a recorder could not keep up with
}

// LimitStats are the connection caps' and timeouts' counters.
type LimitStats struct {
	Open         float64            // TCP connections open now (HTTP(S), RTMP, TURN TCP/TLS)
	Refused      map[string]float64 // by reason: total, per_ip
	AcceptErrors float64            // temporary accept errors (out of file descriptors...) backed off from
	Timeouts     map[string]float64 // by kind: http_header, http_body, http_idle, ws_join, viewer_write
}

// BridgeStats mirrors the mini-program bridge's counters (kept here so metrics
// need not import the bridge).
type BridgeStats struct {
	Pushers, Viewers, Sources, TranscodeErrors float64
}

// TURNStats mirrors the TURN server's counters.
type TURNStats struct {
	Allocations float64
	Refusals    map[string]float64 // by reason
}

type collector struct {
	src Sources

	rooms, members, tracks                  *prometheus.Desc
	packets, bytes, nacks, plis, stale      *prometheus.Desc
	conns, messages, errors                 *prometheus.Desc
	pushers, viewers, sources, transcodeErr *prometheus.Desc
	turnAllocs, turnRefusals                *prometheus.Desc
	connsOpen, connsRefused, acceptErrors   *prometheus.Desc
	timeouts                                *prometheus.Desc
	whipSessions, whipRefused               *prometheus.Desc
	recRooms, recFiles, recBytes            *prometheus.Desc
	recErrors, recDropped                   *prometheus.Desc
	clusterNodes, redisUp                   *prometheus.Desc
	nodeMembers, nodeTracks, nodeCPU        *prometheus.Desc
	nodeRooms                               *prometheus.Desc
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
		stale:        desc("stale_dropped_total", "Packets not forwarded to a subscriber because the server got to them too late after they arrived (video 300 ms, audio 400 ms) or shed the subscriber's video while behind: it is short of CPU."),
		conns:        desc("signaling_connections", "Open signaling WebSockets."),
		messages:     desc("signaling_messages_total", "Signaling messages received, by type.", "type"),
		errors:       desc("signaling_errors_total", "Signaling error replies sent, by code.", "code"),
		pushers:      desc("bridge_pushers", "RTMP streams publishing into rooms now."),
		viewers:      desc("bridge_viewers", "FLV and RTMP players now."),
		sources:      desc("bridge_sources", "Publishers converted for FLV/RTMP players now."),
		transcodeErr: desc("bridge_transcoder_errors_total", "Streams ended by an audio transcoder error."),
		turnAllocs:   desc("turn_allocations", "TURN allocations now."),
		turnRefusals: desc("turn_refusals_total", "TURN requests refused, by reason (forbidden peer, quota, ports exhausted, bad credentials...).", "reason"),
		connsOpen:    desc("tcp_connections", "TCP connections open now over HTTP(S), RTMP and TURN TCP/TLS."),
		connsRefused: desc("tcp_connections_refused_total", "TCP connections refused by max_connections (total) or max_connections_per_ip (per_ip).", "reason"),
		acceptErrors: desc("accept_errors_total", "Temporary accept errors (out of file descriptors...) the listeners backed off from."),
		timeouts:     desc("timeouts_total", "Connections cut by a timeout, by kind (http_header, http_body, http_idle, ws_join, viewer_write).", "kind"),
		whipSessions: desc("whip_sessions", "WHIP publishers and WHEP viewers now, by protocol (whip, whep).", "protocol"),
		whipRefused:  desc("whip_refused_total", "WHIP and WHEP offers refused, by HTTP status (401 token, 404 no room or member, 409 already publishing, 415 codec, 429/503 limits...).", "status"),
		recRooms:     desc("recording_rooms", "Rooms being recorded now."),
		recFiles:     desc("recording_files_total", "Recording files started (one per member and session)."),
		recBytes:     desc("recording_bytes_total", "Bytes written to recordings."),
		recErrors:    desc("recording_write_errors_total", "Recordings stopped by a write error (disk full, directory gone)."),
		recDropped:   desc("recording_dropped_packets_total", "Packets recorders dropped because their writer fell behind (a slow disk)."),
		clusterNodes: desc("cluster_nodes", "Live nodes of the cluster (registered in Redis)."),
		redisUp:      desc("cluster_redis_up", "1 when this node could read the cluster from Redis at this scrape, 0 when not."),
		nodeMembers:  desc("cluster_node_members", "Members on each live node (this node's now, the others' at their last heartbeat).", "node"),
		nodeTracks:   desc("cluster_node_tracks", "Published tracks on each live node.", "node"),
		nodeCPU:      desc("cluster_node_cpu_cores", "CPU cores each live node's process used between its last two heartbeats.", "node"),
		nodeRooms:    desc("cluster_node_rooms", "Rooms living on each live node.", "node"),
	})
	if src.Relay != nil {
		reg.MustRegister(newRelayCollector(src.Relay))
	}
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
		counter(c.stale, float64(st.Media.Stale))
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
		for reason, n := range st.Refusals {
			counter(c.turnRefusals, n, reason)
		}
	}
	if c.src.Limits != nil {
		st := c.src.Limits()
		gauge(c.connsOpen, st.Open)
		counter(c.acceptErrors, st.AcceptErrors)
		for reason, n := range st.Refused {
			counter(c.connsRefused, n, reason)
		}
		for kind, n := range st.Timeouts {
			counter(c.timeouts, n, kind)
		}
	}
	if c.src.WHIP != nil {
		st := c.src.WHIP()
		for proto, n := range st.Sessions {
			gauge(c.whipSessions, n, proto)
		}
		for status, n := range st.Refused {
			counter(c.whipRefused, n, status)
		}
	}
	if c.src.Recording != nil {
		st := c.src.Recording()
		gauge(c.recRooms, st.Rooms)
		counter(c.recFiles, st.Files)
		counter(c.recBytes, st.Bytes)
		counter(c.recErrors, st.WriteErrors)
		counter(c.recDropped, st.Dropped)
	}
	if c.src.Cluster != nil {
		st := c.src.Cluster()
		up := 0.0
		if st.RedisUp {
			up = 1
		}
		gauge(c.redisUp, up)
		// Redis down: the nodes are not known; no series rather than stale ones.
		if st.RedisUp {
			gauge(c.clusterNodes, float64(len(st.Nodes)))
			for _, n := range st.Nodes {
				gauge(c.nodeMembers, n.Members, n.ID)
				gauge(c.nodeTracks, n.Tracks, n.ID)
				gauge(c.nodeCPU, n.CPU, n.ID)
				gauge(c.nodeRooms, n.Rooms, n.ID)
			}
		}
	}
}
