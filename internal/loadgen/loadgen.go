// Package loadgen is a whole-server load generator for openroom (`openroom
// load`): P publishers and S subscribers, each a pion client speaking only the
// public signaling protocol (docs/protocol.md, WebSocket /ws), so it runs
// unchanged against any version of the server. Every synthetic packet carries
// its send time and number behind its codec header (stamp.go), so the members
// measure the one-way delay through the server and the loss. While they run it
// measures the server process from /proc: CPU per forwarded packet and
// resident memory per subscriber.
//
// How a member joins the server is behind Server (server.go): openroom's
// signaling by default; the side-by-side benchmark (the separate module
// bench/) plugs in LiveKit's client SDK, so both servers get the same load and
// the same accounting.
//
// The run has three phases:
//
//  1. the publishers join and send synthetic H.264 and Opus; after Settle the
//     server's RSS is averaged over IdleSample (the "idle" baseline: the
//     publishers, no subscriber);
//  2. the subscribers join (JoinParallel at a time) and each waits for its first
//     media packet; then Warmup passes;
//  3. over Window: the server's CPU time (utime+stime), the packets the
//     subscribers received (= forwarded by the server), the server's RSS
//     (sampled every second, averaged), the load generator's own CPU and the
//     machine's.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pion/transport/v5"

	"github.com/openroom/openroom/sfu/twcc"
)

// Config of one load run.
type Config struct {
	URL          string       // the server's HTTP base URL, http://host:port (open login must be on)
	Server       Server       // how members join; nil: openroom's signaling at URL (LocalIP is its clients')
	Room         string       // room to join (created on demand)
	Publishers   int          // P: members that publish audio and video (and receive each other)
	Subscribers  int          // S: members that only receive
	LocalIP      string       // the members' ICE address; empty: any non-loopback address
	ServerPID    int          // the server process to measure; 0: count packets only
	Video        VideoProfile // the publishers' synthetic H.264 (Bitrate 0: audio only)
	AudioPayload int          // bytes per Opus packet (50 per second)

	JoinParallel int           // subscribers joining at once
	Settle       time.Duration // after the publisher is up, before the idle RSS
	IdleSample   time.Duration // the idle RSS is averaged over this
	Warmup       time.Duration // after every subscriber receives video, before the window
	Window       time.Duration // the measurement window
	ReadyTimeout time.Duration // for the publisher to connect, and for all subscribers to receive video
	// Arrival is what a packet's one-way delay is measured to: ArrivalKernel
	// or ArrivalRead; "": ArrivalKernel on openroom's signaling, else
	// ArrivalRead (another Server's sockets are its client library's, and
	// ArrivalKernel is refused there).
	Arrival  string
	Seed     uint64 // payload noise and initial sequence numbers
	ProcRoot string // the proc filesystem; empty: /proc
	// Progress, if set, is called about once a second with how the run goes.
	Progress func(Progress)
}

// Progress is the run's state for a live progress line.
type Progress struct {
	Phase           string  // "publishers", "idle", "subscribers", "warmup", "window"
	Elapsed         float64 // seconds since the run began
	Publishers      int     // connected
	Subscribers     int     // joined
	Receiving       int     // subscribers that received media
	ForwardedPerSec float64 // media packets received by all members over the last second
	DelayP99Ms      float64 // over the last second
	LossPct         float64 // over the last second
}

// DefaultConfig is 1 publisher (about 1 Mbit/s of 30 fps H.264 with a keyframe
// every 2 s, payloads up to 1100 bytes, and 100-byte Opus packets) x 100
// subscribers, measured over 20 s.
func DefaultConfig() Config {
	return Config{
		Room:        "bench",
		Publishers:  1,
		Subscribers: 100,
		Video: VideoProfile{Bitrate: 1_000_000, FPS: 30, KeyframeInterval: 2 * time.Second,
			KeyframeWeight: 8, MaxPayload: 1100},
		AudioPayload: 100,
		JoinParallel: 10,
		Settle:       3 * time.Second,
		IdleSample:   5 * time.Second,
		Warmup:       10 * time.Second,
		Window:       20 * time.Second,
		ReadyTimeout: 60 * time.Second,
		Seed:         1,
	}
}

// Result of one run. Rates and per-packet figures are over the window.
type Result struct {
	Publishers    int     `json:"publishers"`
	Subscribers   int     `json:"subscribers"`
	WindowSeconds float64 `json:"window_s"`
	JoinSeconds   float64 `json:"join_s"` // from the first subscriber's join to all receiving media

	// One-way delay (send to receive, through the server) of the media packets
	// received in the window, in ms, and how many were measured.
	DelayP50Ms   float64 `json:"delay_p50_ms"`
	DelayP95Ms   float64 `json:"delay_p95_ms"`
	DelayP99Ms   float64 `json:"delay_p99_ms"`
	DelayMaxMs   float64 `json:"delay_max_ms"`
	DelaySamples int64   `json:"delay_samples"`
	// LossPct is the share of the packets sent in the window, to every member
	// that receives them, that did not arrive (resends count as arrived).
	LossPct float64 `json:"loss_pct"`
	// Join: from the first HTTP request to the joined message; first packet:
	// from joined to the first media packet (subscribers); publisher join: from
	// the first HTTP request to the publisher connection up. In ms.
	JoinP50Ms          float64 `json:"join_p50_ms"`
	JoinMaxMs          float64 `json:"join_max_ms"`
	FirstPacketP50Ms   float64 `json:"first_packet_p50_ms"`
	FirstPacketMaxMs   float64 `json:"first_packet_max_ms"`
	PublisherJoinP50Ms float64 `json:"publisher_join_p50_ms"`
	PublisherJoinMaxMs float64 `json:"publisher_join_max_ms"`

	VideoSent     int64 `json:"video_sent"` // by the publishers
	AudioSent     int64 `json:"audio_sent"`
	VideoReceived int64 `json:"video_received"` // by all members: what the server forwarded
	AudioReceived int64 `json:"audio_received"`
	// Forwarded is VideoReceived + AudioReceived: media packets (retransmissions
	// included), the unit of CPUNsPerForwarded.
	Forwarded int64 `json:"forwarded"`
	// PaddingReceived counts padding-only packets (bandwidth probes); they are
	// not in Forwarded, but the CPU they cost is in the server's time.
	PaddingReceived int64 `json:"padding_received"`
	// ServerPacketsOut is the change of openroom_rtp_packets_total{direction="out"},
	// or -1 when the server does not export it.
	ServerPacketsOut int64 `json:"server_packets_out"`
	// DeliveredRatio is Forwarded / ((VideoSent+AudioSent) * (Subscribers+Publishers-1)):
	// about 1 when nothing is lost or held back.
	DeliveredRatio     float64 `json:"delivered_ratio"`
	MinSubscriberVideo int64   `json:"min_subscriber_video"` // packets received by the least served subscriber
	KeyframeRequests   int64   `json:"keyframe_requests"`    // PLI/FIR that reached the publisher
	// ServerNACKed is the change of openroom_nacked_packets_total (packets the
	// subscribers asked to have resent), or -1 when the server does not export it.
	ServerNACKed int64 `json:"server_nacked"`
	// ServerStale is the change of openroom_stale_dropped_total (packets the
	// server got to too late to forward: it is short of CPU), or -1.
	ServerStale int64 `json:"server_stale"`
	// UDPDrops is the datagrams dropped for full socket receive buffers in this
	// network namespace (server and load generator), or -1 when unknown.
	UDPDrops int64 `json:"udp_drops"`

	ServerCPUSeconds   float64 `json:"server_cpu_s"`
	CPUNsPerForwarded  float64 `json:"cpu_ns_per_forwarded"` // server CPU time / Forwarded
	ServerCorePercent  float64 `json:"server_core_pct"`      // % of one core
	RSSIdle            int64   `json:"rss_idle_bytes"`       // publisher only
	RSSLoaded          int64   `json:"rss_loaded_bytes"`     // mean over the window
	RSSLoadedMax       int64   `json:"rss_loaded_max_bytes"`
	RSSPerSubscriber   float64 `json:"rss_per_subscriber_bytes"` // (RSSLoaded - RSSIdle) / Subscribers
	LoadgenCorePercent float64 `json:"loadgen_core_pct"`         // this process, % of one core
	MachineBusyPercent float64 `json:"machine_busy_pct"`         // all CPUs together, % of their capacity
	// OtherCorePercent is what the rest of the machine used meanwhile (busy CPU
	// time minus the server's and the load generator's), % of one core: anything
	// but a few % means the run competed with other work. The machine's counters
	// are sampled at clock ticks, the processes' are exact, so it can read a few
	// % below zero on a quiet machine.
	OtherCorePercent float64 `json:"other_core_pct"`
	CPUs             int     `json:"cpus"` // CPUs of the machine
}

// Run drives one load run against the server and measures it. It leaves the
// room and closes every connection before returning.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (Result, error) {
	if cfg.Arrival != "" && cfg.Arrival != ArrivalKernel && cfg.Arrival != ArrivalRead {
		return Result{}, fmt.Errorf("loadgen: arrival %q: want %q or %q", cfg.Arrival, ArrivalKernel, ArrivalRead)
	}
	if cfg.Server != nil && cfg.Arrival == ArrivalKernel {
		return Result{}, fmt.Errorf("loadgen: arrival %q needs openroom's signaling (its members' sockets); use %q", ArrivalKernel, ArrivalRead)
	}
	if cfg.Publishers < 0 || cfg.Subscribers < 0 || cfg.Publishers+cfg.Subscribers < 1 || cfg.JoinParallel < 1 ||
		(cfg.Video.Bitrate > 0 && (cfg.Video.FPS < 1 || cfg.Video.MaxPayload < 100)) {
		return Result{}, errors.New("loadgen: need 0 or more publishers and subscribers, at least one member, 1 parallel join, and with video 1 fps and 100-byte payloads")
	}
	proc := procFS{root: cfg.procRoot()}
	hc := &http.Client{Timeout: 10 * time.Second}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	srv := cfg.Server
	var arrivals *twcc.ArrivalTable // nil: arrivals are when packets are read
	if srv == nil {
		pionLog := quietPion(ctx, log)
		var nw transport.Net
		if cfg.Arrival != ArrivalRead {
			arrivals = twcc.NewArrivalTableBits(arrivalBits)
			sn, err := newStampedNet(arrivals)
			if err != nil {
				return Result{}, err
			}
			nw = sn
		}
		pubAPI, err := newAPI(cfg.LocalIP, true, nw, pionLog)
		if err != nil {
			return Result{}, err
		}
		subAPI, err := newAPI(cfg.LocalIP, false, nw, pionLog)
		if err != nil {
			return Result{}, err
		}
		srv = &signaling{hc: hc, pubAPI: pubAPI, subAPI: subAPI, baseURL: cfg.URL}
	}
	r := &runState{start: time.Now(), phase: "publishers", arrivals: arrivals}
	stopProgress := r.reportProgress(cfg.Progress)
	defer stopProgress()

	// Phase 1: the publishers alone.
	for i := range cfg.Publishers {
		m := newMember(fmt.Sprintf("load-pub-%03d", i), log, &r.delays, r.arrivals)
		pub, err := startPublisher(ctx, srv, cfg.Room, m, cfg.Video, cfg.AudioPayload)
		if err != nil {
			closePublishers(r.publishers())
			return Result{}, err
		}
		r.addPublisher(pub)
		select {
		case <-pub.connected:
		case <-time.After(cfg.ReadyTimeout):
			closePublishers(r.publishers())
			return Result{}, fmt.Errorf("loadgen: publisher %d did not connect within %s", i, cfg.ReadyTimeout)
		case <-ctx.Done():
			closePublishers(r.publishers())
			return Result{}, ctx.Err()
		}
		pub.start(ctx, rng)
	}
	defer closePublishers(r.publishers())
	log.Info("publishers are sending", "publishers", cfg.Publishers, "settle", cfg.Settle)
	if err := sleep(ctx, cfg.Settle); err != nil {
		return Result{}, err
	}
	var res Result
	var err error
	if cfg.ServerPID != 0 {
		r.setPhase("idle")
		if res.RSSIdle, _, err = sampleRSS(ctx, proc, cfg.ServerPID, cfg.IdleSample, 250*time.Millisecond); err != nil {
			return Result{}, err
		}
		log.Info("idle server", "rss_mib", mib(res.RSSIdle))
	}

	// Phase 2: the subscribers.
	r.setPhase("subscribers")
	joinStart := time.Now()
	subs, err := joinSubscribers(ctx, srv, cfg, r, log)
	defer closeAll(subs)
	if err != nil {
		return Result{}, err
	}
	deadline := time.After(cfg.ReadyTimeout)
	for i, s := range subs {
		select {
		case <-s.gotMedia:
		case <-deadline:
			return Result{}, fmt.Errorf("loadgen: only %d of %d subscribers received media within %s", i, len(subs), cfg.ReadyTimeout)
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	res.JoinSeconds = round(time.Since(joinStart).Seconds(), 2)
	log.Info("every subscriber receives media", "subscribers", len(subs), "join_s", round(res.JoinSeconds, 1), "warmup", cfg.Warmup)
	r.setPhase("warmup")
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return Result{}, err
	}

	// Phase 3: the window.
	r.setPhase("window")
	log.Info("measuring", "window", cfg.Window)
	pubs := r.publishers()
	before, err := takeSnapshot(ctx, hc, proc, cfg, pubs, subs, &r.delays)
	if err != nil {
		return Result{}, err
	}
	if cfg.ServerPID != 0 {
		if res.RSSLoaded, res.RSSLoadedMax, err = sampleRSS(ctx, proc, cfg.ServerPID, cfg.Window, time.Second); err != nil {
			return Result{}, err
		}
	} else if err := sleep(ctx, cfg.Window); err != nil {
		return Result{}, err
	}
	after, err := takeSnapshot(ctx, hc, proc, cfg, pubs, subs, &r.delays)
	if err != nil {
		return Result{}, err
	}
	r.setPhase("done")
	res.fill(before, after, cfg.ServerPID != 0, proc.cpuCount())
	res.fillJoins(pubs, subs)
	if res.DeliveredRatio < 0.95 {
		log.Warn("the members received less than 95 % of what was published: the server (or the load generator) falls behind or drops",
			"delivered", res.DeliveredRatio)
	}
	if res.OtherCorePercent > 20 {
		log.Warn("other processes used the CPU during the window: the run competed with them", "other_core_pct", res.OtherCorePercent)
	}
	return res, nil
}

// joinSubscribers joins cfg.Subscribers members, JoinParallel at a time. It
// returns those that joined (the caller closes them) and every join error.
func joinSubscribers(ctx context.Context, srv Server, cfg Config, r *runState, log *slog.Logger) ([]*Member, error) {
	subs := make([]*Member, cfg.Subscribers)
	errs := make([]error, cfg.Subscribers)
	sem := make(chan struct{}, cfg.JoinParallel)
	var wg sync.WaitGroup
	for i := range subs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m := newMember(fmt.Sprintf("load-sub-%03d", i), log, &r.delays, r.arrivals)
			conn, err := srv.Subscribe(ctx, cfg.Room, m)
			if err != nil {
				errs[i] = err
				return
			}
			m.conn = conn
			subs[i] = m
			r.addSubscriber(m)
		}()
	}
	wg.Wait()
	joined := slices.DeleteFunc(subs, func(m *Member) bool { return m == nil })
	return joined, errors.Join(errs...)
}

func closePublishers(ps []*publisher) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(p.close)
	}
	wg.Wait()
}

// closeAll closes members in parallel.
func closeAll(ms []*Member) {
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(m.conn.Close)
	}
	wg.Wait()
}

// snapshot is every counter at one instant.
type snapshot struct {
	at                   time.Time
	server, self         ProcSample
	machine              machineCPU
	subVideo             []int64 // per subscriber
	videoReceived        int64   // by every member
	audioReceived        int64
	paddingReceived      int64
	rxReceived, rxSent   int64   // stamped packets received, and sent to the members (rxStream)
	delays               []int64 // delayHist counts
	videoSent, audioSent int64
	keyframeRequests     int64
	publishers           int
	serverOut, nacked    int64 // server counters; -1: not exported
	stale                int64
	udpDrops             int64 // -1: unknown
}

func takeSnapshot(ctx context.Context, hc *http.Client, proc procFS, cfg Config, pubs []*publisher, subs []*Member, delays *delayHist) (snapshot, error) {
	s := snapshot{at: time.Now(), subVideo: make([]int64, len(subs)), delays: delays.snapshot()}
	count := func(m *Member) {
		s.videoReceived += m.videoPackets.Load()
		s.audioReceived += m.audioPackets.Load()
		s.paddingReceived += m.paddingPackets.Load()
		rcv, exp := m.rxTotals()
		s.rxReceived += rcv
		s.rxSent += exp
	}
	for i, m := range subs {
		s.subVideo[i] = m.videoPackets.Load()
		count(m)
	}
	for _, p := range pubs {
		count(p.Member)
		s.videoSent += p.videoSent.Load()
		s.audioSent += p.audioSent.Load()
		s.keyframeRequests += p.keyframeRequests.Load()
	}
	s.publishers = len(pubs)
	var err error
	if cfg.ServerPID != 0 {
		if s.server, err = proc.process(cfg.ServerPID); err != nil {
			return s, fmt.Errorf("loadgen: server process %d: %w", cfg.ServerPID, err)
		}
	}
	if s.self, err = proc.process(0); err != nil {
		return s, err
	}
	if s.machine, err = proc.machine(); err != nil {
		return s, err
	}
	c := serverCounters(ctx, hc, cfg.URL, metricPacketsOut, metricNACKed, metricStale)
	s.serverOut, s.nacked, s.stale = c[0], c[1], c[2]
	s.udpDrops = proc.udpDrops()
	return s, nil
}

// fill computes the result from the counters at both ends of the window;
// server says whether the server process was measured.
func (r *Result) fill(a, b snapshot, server bool, cpus int) {
	window := b.at.Sub(a.at)
	r.Publishers, r.Subscribers = b.publishers, len(b.subVideo)
	r.WindowSeconds = round(window.Seconds(), 2)
	r.VideoSent, r.AudioSent = b.videoSent-a.videoSent, b.audioSent-a.audioSent
	r.MinSubscriberVideo = -1
	for i := range b.subVideo {
		n := b.subVideo[i] - a.subVideo[i]
		if r.MinSubscriberVideo < 0 || n < r.MinSubscriberVideo {
			r.MinSubscriberVideo = n
		}
	}
	r.VideoReceived = b.videoReceived - a.videoReceived
	r.AudioReceived = b.audioReceived - a.audioReceived
	if q, n := delayPercentiles(a.delays, b.delays, 0.5, 0.95, 0.99, 1); n > 0 {
		r.DelayP50Ms, r.DelayP95Ms, r.DelayP99Ms, r.DelayMaxMs, r.DelaySamples = q[0], q[1], q[2], q[3], n
	}
	r.LossPct = lossPct(b.rxReceived-a.rxReceived, b.rxSent-a.rxSent)
	r.PaddingReceived = b.paddingReceived - a.paddingReceived
	r.Forwarded = r.VideoReceived + r.AudioReceived
	r.ServerPacketsOut = delta(a.serverOut, b.serverOut)
	r.ServerNACKed = delta(a.nacked, b.nacked)
	r.ServerStale = delta(a.stale, b.stale)
	r.UDPDrops = delta(a.udpDrops, b.udpDrops)
	if sent := (r.VideoSent + r.AudioSent) * int64(r.Subscribers+r.Publishers-1); sent > 0 {
		r.DeliveredRatio = round(float64(r.Forwarded)/float64(sent), 4)
	}
	r.KeyframeRequests = b.keyframeRequests - a.keyframeRequests
	r.CPUs = cpus
	if server {
		cpu := b.server.CPU - a.server.CPU
		r.ServerCPUSeconds = round(cpu.Seconds(), 2)
		if r.Forwarded > 0 {
			r.CPUNsPerForwarded = round(float64(cpu.Nanoseconds())/float64(r.Forwarded), 0)
		}
		r.ServerCorePercent = round(100*cpu.Seconds()/window.Seconds(), 1)
		r.RSSPerSubscriber = round(float64(r.RSSLoaded-r.RSSIdle)/float64(r.Subscribers), 0)
	}
	r.LoadgenCorePercent = round(100*(b.self.CPU-a.self.CPU).Seconds()/window.Seconds(), 1)
	if total := b.machine.total - a.machine.total; total > 0 {
		busy := b.machine.busy - a.machine.busy
		r.MachineBusyPercent = round(100*float64(busy)/float64(total), 1)
		// The machine's counters add up all CPUs: busy/window is in cores.
		r.OtherCorePercent = round(100*busy.Seconds()/window.Seconds()-r.ServerCorePercent-r.LoadgenCorePercent, 1)
	}
}

// fillJoins records the join and first-packet times.
func (r *Result) fillJoins(pubs []*publisher, subs []*Member) {
	var joins, firsts, pubJoins []float64
	for _, m := range subs {
		j, f := m.joinTimes()
		if j > 0 {
			joins = append(joins, float64(j)/1e6)
		}
		if f > 0 {
			firsts = append(firsts, float64(f)/1e6)
		}
	}
	for _, p := range pubs {
		if d := p.connectedAfter.Load(); d > 0 {
			pubJoins = append(pubJoins, float64(d)/1e6)
		}
	}
	r.JoinP50Ms, r.JoinMaxMs = medianMax(joins)
	r.FirstPacketP50Ms, r.FirstPacketMaxMs = medianMax(firsts)
	r.PublisherJoinP50Ms, r.PublisherJoinMaxMs = medianMax(pubJoins)
}

// medianMax returns the median and the maximum of xs, rounded to 0.1 (0, 0 for none).
func medianMax(xs []float64) (median, maximum float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	slices.Sort(xs)
	return round(xs[len(xs)/2], 1), round(xs[len(xs)-1], 1)
}

// delta is b - a, or -1 when either is unknown (-1).
func delta(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	return b - a
}

func (c Config) procRoot() string {
	if c.ProcRoot == "" {
		return "/proc"
	}
	return c.ProcRoot
}

// sampleRSS samples pid's RSS every interval for d and returns the mean and the maximum.
func sampleRSS(ctx context.Context, proc procFS, pid int, d, interval time.Duration) (mean, peak int64, err error) {
	var sum, n int64
	tick := time.NewTicker(interval)
	defer tick.Stop()
	end := time.Now().Add(d)
	for {
		s, err := proc.process(pid)
		if err != nil {
			return 0, 0, fmt.Errorf("loadgen: server process %d: %w", pid, err)
		}
		sum, n, peak = sum+s.RSS, n+1, max(peak, s.RSS)
		if !time.Now().Before(end) {
			return sum / n, peak, nil
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-tick.C:
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if v < 0 {
		return -float64(int64(-v*p+0.5)) / p
	}
	return float64(int64(v*p+0.5)) / p
}

func mib(b int64) float64 { return round(float64(b)/(1<<20), 1) }

// quietPion is the logger for pion: it reports routine events of 100 connections
// coming and going (pings before candidates, streams closed at the end) as
// warnings, which internal/pionlog turns into slog info. Unless log shows debug,
// only pion's errors (slog warnings) get through.
func quietPion(ctx context.Context, log *slog.Logger) *slog.Logger {
	if log.Enabled(ctx, slog.LevelDebug) {
		return log.With("component", "pion")
	}
	return slog.New(levelFloor{Handler: log.Handler(), min: slog.LevelWarn}).With("component", "pion")
}

// levelFloor drops records below min.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFloor{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{Handler: h.Handler.WithGroup(name), min: h.min}
}
