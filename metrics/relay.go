package metrics

import "github.com/prometheus/client_golang/prometheus"

// RelayStats count the relays of rooms that span nodes (cluster mode).
type RelayStats struct {
	Links                          float64 // links up now
	TracksSent, TracksReceived     float64 // tracks offered to / by other nodes
	PacketsSent, BytesSent         float64 // media frames to other nodes
	PacketsReceived, BytesReceived float64 // media frames from other nodes
	Dropped                        float64 // frames dropped: a peer's socket fell behind
}

// relayCollector reports RelayStats.
type relayCollector struct {
	read                          func() RelayStats
	links, tracks, packets, bytes *prometheus.Desc
	dropped                       *prometheus.Desc
}

func newRelayCollector(read func() RelayStats) *relayCollector {
	return &relayCollector{read: read,
		links:   desc("relay_links", "Relay links to other nodes up now (one per room and node pair the room spans)."),
		tracks:  prometheus.NewDesc("openroom_relay_tracks_total", "Tracks relayed between nodes: sent (offered to another node, one crossing each) and received.", []string{"direction"}, nil),
		packets: desc("relay_packets_total", "RTP packets relayed between nodes, by direction (sent, received).", "direction"),
		bytes:   desc("relay_bytes_total", "Bytes relayed between nodes (RTP with its 5-byte record header), by direction.", "direction"),
		dropped: desc("relay_dropped_total", "Relay frames dropped because the link to another node fell behind."),
	}
}

func (c *relayCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *relayCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.read()
	ch <- prometheus.MustNewConstMetric(c.links, prometheus.GaugeValue, s.Links)
	for _, v := range []struct {
		d              *prometheus.Desc
		sent, received float64
	}{{c.tracks, s.TracksSent, s.TracksReceived}, {c.packets, s.PacketsSent, s.PacketsReceived}, {c.bytes, s.BytesSent, s.BytesReceived}} {
		ch <- prometheus.MustNewConstMetric(v.d, prometheus.CounterValue, v.sent, "sent")
		ch <- prometheus.MustNewConstMetric(v.d, prometheus.CounterValue, v.received, "received")
	}
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, s.Dropped)
}
