package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/openroom/openroom/metrics"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/turn"
)

// registerOps adds what an operator's tooling calls: health, readiness, metrics.
func (a *app) registerOps(webrtc bool) {
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	a.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if a.sig.Draining() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("draining: not accepting joins\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	src := metrics.Sources{
		Rooms:     a.rooms.Stats,
		Signaling: a.sig.Stats,
	}
	if a.bridge != nil {
		src.Bridge = func() metrics.BridgeStats {
			st := a.bridge.Stats()
			return metrics.BridgeStats{Pushers: float64(st.Pushers), Viewers: float64(st.Viewers),
				Sources: float64(st.Sources), TranscodeErrors: float64(st.TranscodeErrors)}
		}
	}
	if a.turn != nil {
		src.TURN = func() metrics.TURNStats {
			st := a.turn.Stats()
			refusals := map[string]float64{}
			for _, r := range []string{turn.RefusedAuth, turn.RefusedPeer, turn.RefusedQuotaUser, turn.RefusedQuotaIP, turn.RefusedQuotaTotal, turn.RefusedPorts} {
				refusals[r] = float64(st.Refusals[r]) // every reason, 0 included, so dashboards find them
			}
			return metrics.TURNStats{Allocations: float64(st.Allocations), Refusals: refusals}
		}
	}
	src.Limits = a.limitStats
	if a.records.Enabled() {
		src.Recording = recordingStats(a.records)
	}
	src.WHIP = func() metrics.WHIPStats {
		st := a.whip.Stats()
		refused := map[string]float64{}
		for code, n := range st.Refused {
			refused[strconv.Itoa(code)] = float64(n)
		}
		return metrics.WHIPStats{Sessions: map[string]float64{"whip": float64(st.WHIP), "whep": float64(st.WHEP)}, Refused: refused}
	}
	if a.relays != nil {
		src.Relay = a.relays.metrics
	}
	if a.cluster != nil {
		src.Cluster = a.clusterStats // clusterviews.go
	}
	a.mux.Handle("GET /metrics", metrics.Handler(src))
}

// members counts everyone in every room.
func members(st room.Stats) int {
	n := 0
	for _, k := range st.MembersByKind {
		n += k
	}
	return n
}

// drain tells members the server is going away, refuses new joins (readiness
// fails), and waits up to the drain time for the rooms to empty.
func (a *app) drain() {
	n := members(a.rooms.Stats())
	if n == 0 || a.cfg.Drain == 0 {
		a.sig.Drain(0)
		return
	}
	a.log.Info("draining: telling members the server is going away", "members", n, "within", a.cfg.Drain)
	a.sig.Drain(a.cfg.Drain)
	deadline := time.Now().Add(a.cfg.Drain)
	for time.Now().Before(deadline) {
		if members(a.rooms.Stats()) == 0 {
			a.log.Info("drained: every member left")
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	a.log.Info("drain time over: closing the remaining members", "members", members(a.rooms.Stats()))
}
