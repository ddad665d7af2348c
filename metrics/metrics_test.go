package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
	"github.com/openroom/openroom/signaling"
)

func scrape(t *testing.T, src Sources) string {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler(src).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsExposeEverySource(t *testing.T) {
	out := scrape(t, Sources{
		Rooms: func() room.Stats {
			return room.Stats{Rooms: 2, MembersByKind: map[string]int{"webrtc": 3, "rtmp": 1}, Tracks: 5,
				Media: sfu.TrackStats{PacketsIn: 100, PacketsOut: 300, BytesIn: 1000, BytesOut: 3000, NACKs: 7, KeyframeRequests: 2, Stale: 11}}
		},
		Signaling: func() signaling.Stats {
			return signaling.Stats{Connections: 4, Messages: map[string]int{"join": 4}, Errors: map[int]int{4001: 1}}
		},
		Bridge: func() BridgeStats { return BridgeStats{Pushers: 1, Viewers: 2, Sources: 1, TranscodeErrors: 0} },
		TURN:   func() TURNStats { return TURNStats{Allocations: 3, Refusals: map[string]float64{"quota_ip": 9}} },
		Limits: func() LimitStats {
			return LimitStats{Open: 12, Refused: map[string]float64{"per_ip": 5}, AcceptErrors: 2, Timeouts: map[string]float64{"ws_join": 4}}
		},
		WHIP: func() WHIPStats {
			return WHIPStats{Sessions: map[string]float64{"whip": 1, "whep": 3}, Refused: map[string]float64{"409": 2}}
		},
		Recording: func() RecordingStats {
			return RecordingStats{Rooms: 1, Files: 4, Bytes: 5000, WriteErrors: 1, Dropped: 6}
		},
	})
	for _, want := range []string{
		"openroom_rooms 2",
		`openroom_members{kind="webrtc"} 3`,
		`openroom_members{kind="rtmp"} 1`,
		"openroom_tracks 5",
		`openroom_rtp_packets_total{direction="in"} 100`,
		`openroom_rtp_payload_bytes_total{direction="out"} 3000`,
		"openroom_nacked_packets_total 7",
		"openroom_keyframe_requests_total 2",
		"openroom_stale_dropped_total 11",
		"openroom_signaling_connections 4",
		`openroom_signaling_messages_total{type="join"} 4`,
		`openroom_signaling_errors_total{code="4001"} 1`,
		"openroom_bridge_viewers 2",
		`openroom_turn_refusals_total{reason="quota_ip"} 9`,
		"openroom_tcp_connections 12",
		`openroom_tcp_connections_refused_total{reason="per_ip"} 5`,
		"openroom_accept_errors_total 2",
		`openroom_timeouts_total{kind="ws_join"} 4`,
		`openroom_whip_sessions{protocol="whep"} 3`,
		`openroom_whip_refused_total{status="409"} 2`,
		"openroom_recording_rooms 1",
		"openroom_recording_files_total 4",
		"openroom_recording_bytes_total 5000",
		"openroom_recording_write_errors_total 1",
		"openroom_recording_dropped_packets_total 6",
		"go_goroutines",
	} {
		t.Run(want, func(t *testing.T) {
			if !strings.Contains(out, want) {
				t.Errorf("got no %q in the scrape", want)
			}
		})
	}
}

func TestMetricsSkipPartsThatAreOff(t *testing.T) {
	out := scrape(t, Sources{})
	if strings.Contains(out, "openroom_") {
		t.Errorf("got openroom metrics with no sources; want only runtime metrics")
	}
}

func TestMetricsCluster(t *testing.T) {
	up := ClusterStats{RedisUp: true, Nodes: []ClusterNode{
		{ID: "a", Members: 3, Tracks: 4, CPU: 0.5, Rooms: 1},
		{ID: "b", Members: 1, Tracks: 0, CPU: 1.25, Rooms: 2},
	}}
	tests := []struct {
		name     string
		cluster  func() ClusterStats // nil: a single node
		want     []string
		wantNone []string // prefixes that must not appear
	}{
		{
			name:    "Redis up",
			cluster: func() ClusterStats { return up },
			want: []string{
				"openroom_cluster_redis_up 1",
				"openroom_cluster_nodes 2",
				`openroom_cluster_node_members{node="a"} 3`,
				`openroom_cluster_node_members{node="b"} 1`,
				`openroom_cluster_node_tracks{node="a"} 4`,
				`openroom_cluster_node_cpu_cores{node="b"} 1.25`,
				`openroom_cluster_node_rooms{node="b"} 2`,
				"openroom_rooms 1", // the node-local series as ever
			},
		},
		{
			name:     "Redis down",
			cluster:  func() ClusterStats { return ClusterStats{} },
			want:     []string{"openroom_cluster_redis_up 0", "openroom_rooms 1"},
			wantNone: []string{"openroom_cluster_nodes", "openroom_cluster_node_"},
		},
		{
			name:     "single node",
			want:     []string{"openroom_rooms 1"},
			wantNone: []string{"openroom_cluster_"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := scrape(t, Sources{Rooms: func() room.Stats { return room.Stats{Rooms: 1} }, Cluster: tt.cluster})
			for _, want := range tt.want {
				if !strings.Contains(out, want+"\n") {
					t.Errorf("got no %q in the scrape", want)
				}
			}
			for _, none := range tt.wantNone {
				if strings.Contains(out, "\n"+none) {
					t.Errorf("got %q series; want none", none)
				}
			}
		})
	}
}
