package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/openroom/openroom/admin"
	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/cluster"
	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/internal/udpbatch"
	bridge "github.com/openroom/openroom/miniprogram-bridge"
	"github.com/openroom/openroom/recording"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
	"github.com/openroom/openroom/sfu/twcc"
	"github.com/openroom/openroom/signaling"
	"github.com/openroom/openroom/turn"
	"github.com/openroom/openroom/web"
	"github.com/openroom/openroom/whip"
)

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runServer(ctx context.Context, args []string, stderr io.Writer, env environ) int {
	cfg, err := loadConfig(args, stderr, env)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "openroom: %v\n", err)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	warnUnknownEnv(log, env)
	if cfg.Secret == "" {
		cfg.Secret = randomSecret()
		log.Warn("no secret configured: generated one for this run (tokens die with the process)", "secret", cfg.Secret)
	}
	if cfg.OpenLogin {
		log.Warn("open_login is on: anyone can get tokens and join any room (dev mode)")
	}
	generated := cfg.AdminToken == ""
	if generated {
		cfg.AdminToken = randomSecret()[:32]
		if !log.Enabled(ctx, slog.LevelInfo) { // else the start banner shows it
			log.Warn("no admin_token configured: generated one for this run; /admin needs it", "admin_token", cfg.AdminToken)
		}
	}
	app, err := newApp(cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	app.stderr, app.generatedAdminToken = stderr, generated
	if err := app.serve(ctx); err != nil {
		log.Error("server failed", "err", err)
		return 1
	}
	return 0
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// app is the wired server: every listener it opened and every part it runs.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	httpLn  net.Listener   // nil when disabled
	rtmpLn  net.Listener   // nil when disabled
	bridge  *bridge.Server // nil when disabled
	udp     udpbatch.Group // the WebRTC port's sockets; none when disabled
	turn    *turn.Server   // nil when TURN is off
	turnUDP net.PacketConn // nil when disabled
	turnTCP net.Listener   // nil when disabled
	turnTLS net.Listener   // nil when disabled
	https   *httpsFront    // nil when HTTPS is off (tls.go)
	rooms   *room.Manager
	sig     *signaling.Server
	whip    *whip.Server
	records *recording.Service // starts and stops room recordings (record_dir)
	mux     *http.ServeMux
	guard   *guard           // caps and counts every TCP listener's connections (guard.go)
	spread  *sfu.Spreader    // large rooms' fan-out over the other cores; nil on one core
	cluster *cluster.Cluster // nil unless redis_url is set (cluster.go)
	relays  *relayParts      // rooms spanning nodes (relay.go); nil unless cluster
	archive *cluster.Archive // the rooms' chat and boards in Redis; nil unless cluster

	stderr              io.Writer // where the start banner goes (banner.go); set by runServer
	generatedAdminToken bool      // admin_token was made for this run, so the banner shows it
}

func newApp(cfg config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log}
	a.guard = newGuard(cfg.MaxConnections, cfg.MaxConnectionsPerIP, raiseFDLimit(log), log)
	issuer, err := auth.NewIssuer([]byte(cfg.Secret), cfg.SDKAppID, nil)
	if err != nil {
		return nil, err
	}
	a.spread = sfu.NewSpreader(0)
	// Certificates and TURN's settings first: their mistakes are not about ports.
	if a.https, err = newHTTPSFront(cfg, log); err != nil { // before TURN, which may share its certificate
		a.closeListeners()
		return nil, err
	}
	turnTLS, err := a.newTURN(&cfg)
	if err != nil {
		a.closeListeners()
		return nil, err
	}
	var rtcIPs []string
	var loopback bool
	if cfg.RTCPort != 0 {
		rtcIPs, loopback = rtcAddresses(cfg.NodeIP, localAddresses())
	}
	socks, err := openSockets(cfg, rtcIPs)
	if err != nil {
		a.closeListeners()
		return nil, err
	}
	a.adopt(socks, &cfg, turnTLS)
	a.cfg = cfg // with the TURN ports actually bound, for the URLs handed to clients
	var engine *sfu.Engine
	if len(socks.rtc) > 0 {
		if engine, err = a.newEngine(socks.rtc, loopback); err != nil {
			a.closeListeners()
			return nil, err
		}
	}
	if err := a.newCluster(); err != nil {
		a.closeListeners()
		return nil, err
	}
	var placer signaling.Placer
	var dir signaling.Directory
	roomOpts := room.Options{Capacity: cfg.RoomCapacity, Timeout: cfg.MemberTimeout, Logger: log}
	if a.cluster != nil {
		dir = clusterDirectory{a.cluster}
		a.archive = a.cluster.Archive()
		roomOpts.Archive = a.archive
	}
	a.rooms = room.NewManager(roomOpts)
	var urls signaling.StreamURLs
	a.mux = http.NewServeMux()
	if a.cluster != nil {
		placer = a.newRelays()
	}
	if a.rtmpLn != nil {
		grace := cfg.RTMPPushGrace
		if grace == 0 {
			grace = -1 // the bridge's "none"
		}
		bopts := bridge.Options{Rooms: a.rooms, Issuer: issuer, Transcoders: bridge.FFmpegTranscoders{},
			OpenLogin: cfg.OpenLogin, Logger: log, PushGrace: grace, ViewerWriteTimeout: cfg.ViewerWriteTimeout, Spreader: a.spread,
			OriginAllowed: func(r *http.Request) bool { return signaling.OriginAllowed(cfg.Origins(), r) }}
		if a.cluster != nil {
			bopts.RoomNode = a.rtmpNode // pushes and plays for rooms on other nodes are passed on
		}
		a.bridge = bridge.New(bopts)
		urls = bridge.URLs{RTMPBase: cfg.RTMPURL, FLVBase: cfg.FLVURL, RTMPPort: a.rtmpLn.Addr().(*net.TCPAddr).Port}
		a.mux.Handle("GET /live/{room}/{file}", a.clusterFront(a.bridge))
	}
	a.sig = signaling.New(signaling.Options{Config: cfg, Issuer: issuer, Rooms: a.rooms, Engine: engine,
		StreamURLs: urls, Placer: placer, Directory: dir, Logger: log})
	a.sig.Register(a.mux)
	a.whip = whip.New(whip.Options{Rooms: a.rooms, Issuer: issuer, Engine: engine, OpenLogin: cfg.OpenLogin,
		MaxSDPBytes: cfg.MaxSDPBytes, MaxSDPMedia: cfg.MaxSDPMedia, ICEServers: a.sig.ICEServers, Logger: log,
		OriginAllowed: func(r *http.Request) bool { return signaling.OriginAllowed(cfg.Origins(), r) }})
	a.whip.Register(a.mux)
	a.records = recording.NewService(recording.ServiceConfig{Dir: cfg.RecordDir, Auto: cfg.AutoRecord, Rooms: a.rooms, Logger: log})
	a.records.Register(a.mux, cfg.Secret)
	a.registerOps(engine != nil)
	adminOpts := admin.Options{Rooms: a.rooms, Token: cfg.AdminToken, Logger: log}
	if a.records.Enabled() {
		adminOpts.Recordings = adminRecordings{a.records}
	}
	if a.cluster != nil {
		adminOpts.Cluster = adminCluster{a} // clusterviews.go
	}
	adminHandler := admin.Handler(adminOpts)
	a.mux.Handle("/admin/", adminHandler)
	a.mux.Handle("/admin", adminHandler)
	a.mux.Handle("/", web.Handler())
	return a, nil
}

// newTURN sets up the TURN server cfg asks for and, for TURN over TLS, its
// certificate; the listeners open with the others (openSockets).
func (a *app) newTURN(cfg *config.Config) (*tls.Config, error) {
	tlsOn := cfg.TURNTLSEnabled()
	if cfg.TURN == "" && !tlsOn {
		return nil, nil
	}
	tc, err := turn.ConfigFrom(*cfg, a.log)
	if err != nil {
		return nil, err
	}
	if a.turn, err = turn.New(tc); err != nil {
		return nil, err
	}
	if !tlsOn {
		if cfg.TURNTLS != "" && cfg.TURNCert == "" {
			a.log.Debug("turn over TLS is off: no turn_cert/turn_key")
		}
		return nil, nil
	}
	return a.turnTLSConfig(cfg)
}

// adopt takes the opened sockets into a: TCP listeners behind the connection
// guard, TURN over TLS behind its TLS config, and the TURN ports bound into cfg.
// The WebRTC sockets go to newEngine.
func (a *app) adopt(s *sockets, cfg *config.Config, turnTLS *tls.Config) {
	if s.https != nil {
		a.https.ln = a.guard.wrap(s.https, "https", false) // TLS comes after: a plain-text refusal would be noise
	}
	if s.turnTCP != nil {
		a.turnUDP = s.turnUDP
		cfg.TURN = s.turnTCP.Addr().String()
		a.turnTCP = a.guard.wrap(s.turnTCP, "turn-tcp", false)
	}
	if s.turnTLS != nil {
		cfg.TURNTLS = s.turnTLS.Addr().String()
		a.turnTLS = tls.NewListener(a.guard.wrap(s.turnTLS, "turn-tls", false), turnTLS)
	}
	if s.rtmp != nil {
		a.rtmpLn = a.guard.wrap(s.rtmp, "rtmp", false)
	}
	if s.http != nil {
		a.httpLn = a.guard.wrap(s.http, "http", true)
	}
}

// udpReadBuffer is the WebRTC port's socket receive buffer, as LiveKit and
// mediasoup advise for production (Linux caps it at net.core.rmem_max).
const udpReadBuffer = 4 << 20

// newEngine makes the SFU over the WebRTC port's sockets, which a owns from
// here on (closed with the rest on failure too).
func (a *app) newEngine(conns []net.PacketConn, loopback bool) (*sfu.Engine, error) {
	// Publishers' transport-cc feedback reports when packets reached the
	// socket (the kernel's stamp), not when a busy server read them.
	arrivals := twcc.NewArrivalTable()
	ec := sfu.EngineConfig{Arrivals: arrivals, Logger: a.log, IncludeLoopback: loopback, Spreader: a.spread}
	for i, pc := range conns {
		// A fan-out's sends leave in one sendmmsg(2): about 40 % less CPU per
		// packet than one sendto(2) each (docs/benchmarks.md).
		bc, err := udpbatch.New(pc)
		if err != nil {
			for _, rest := range conns[i:] {
				_ = rest.Close()
			}
			return nil, err
		}
		bc.ObserveReads(arrivals.Observe)
		// The default buffer (~200 KB) holds some 90 packets: a stall of a few
		// ms at a large room's rate loses publishers' packets, which every
		// subscriber then NACKs. Packets that waited too long are dropped by age.
		if got, err := bc.SetReadBuffer(udpReadBuffer); err == nil && got > 0 && got < udpReadBuffer && i == 0 {
			a.log.Warn("the WebRTC port's UDP receive buffer is smaller than asked: bursts may be lost (raise it: sysctl -w net.core.rmem_max=4194304)",
				"bytes", got, "asked", udpReadBuffer)
		}
		a.udp = append(a.udp, bc)
		ec.UDPs = append(ec.UDPs, bc)
	}
	ec.Batch = a.udp
	if a.cfg.NodeIP != "" {
		ec.NodeIPs = []string{a.cfg.NodeIP}
	}
	return sfu.NewEngine(ec)
}

func (a *app) closeListeners() {
	for _, c := range a.udp {
		_ = c.Close()
	}
	if a.cluster != nil {
		_ = a.cluster.Close() // its connections to Redis
	}
	for _, c := range []io.Closer{a.turnUDP, a.turnTCP, a.turnTLS} {
		if c != nil {
			_ = c.Close()
		}
	}
	if a.httpLn != nil {
		_ = a.httpLn.Close()
	}
	a.closeHTTPS()
	if a.rtmpLn != nil {
		_ = a.rtmpLn.Close()
	}
	a.spread.Close() // last: a fan-out still running after it goes on inline
}

// serve runs until ctx ends, then shuts down gracefully.
func (a *app) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.rooms.Run(ctx, time.Second)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.records.Run(ctx, time.Second) // ends every recording when ctx ends, after the members left
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.guard.relieve(ctx)
	}()
	if a.cluster != nil {
		// Registered before it says it listens: a join at once after start
		// must find this node in the cluster (Run beats again at once; cheap).
		hctx, hcancel := context.WithTimeout(ctx, 3*time.Second)
		if err := a.cluster.Heartbeat(hctx); err != nil {
			a.log.Warn("cluster: first registration failed; retrying at each heartbeat", "err", err)
		}
		hcancel()
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.cluster.Run(ctx) // unregisters the node when ctx ends
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.archive.Run(ctx) // writes what is queued when ctx ends
		}()
	}
	var srv *http.Server
	errc := make(chan error, 1)
	if a.httpLn != nil {
		srv = a.httpServer(a.httpHandler())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(a.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		a.log.Info("openroom listening", "http", a.httpLn.Addr().String(), "url", "http://localhost:"+port(a.httpLn.Addr()))
	}
	a.serveHTTPS(&wg, errc)
	if a.rtmpLn != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.bridge.ServeRTMP(a.rtmpLn); err != nil {
				errc <- err
			}
		}()
	}
	if a.turn != nil {
		serveTURN := func(serve func() error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := serve(); err != nil && !errors.Is(err, turn.ErrServerClosed) {
					select {
					case errc <- err:
					default: // another error already ends the run
					}
				}
			}()
		}
		args := []any{"relay_ports", a.cfg.TURNRelayPorts, "realm", a.turn.Realm()}
		if a.turnUDP != nil {
			serveTURN(func() error { return a.turn.ServePacket(a.turnUDP) })
			serveTURN(func() error { return a.turn.Serve(a.turnTCP) })
			args = append(args, "udp_tcp", a.turnTCP.Addr().String())
		}
		if a.turnTLS != nil {
			serveTURN(func() error { return a.turn.Serve(a.turnTLS) })
			args = append(args, "tls", a.turnTLS.Addr().String())
		}
		a.log.Info("turn", args...)
	}
	announce(a.log, a.cfg.LogFormat, a.stderr, a.startInfo(), localAddresses())
	var err error
	select {
	case <-ctx.Done():
		a.drain()
	case err = <-errc:
	}
	a.log.Info("shutting down")
	waitHTTPS := a.shutdownHTTPS(5 * time.Second)
	if srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		scancel()
	}
	waitHTTPS()
	a.sig.Close()
	a.whip.Close()
	a.relays.close()
	if a.turn != nil {
		_ = a.turn.Close() // ends the Serve calls
	}
	if a.rtmpLn != nil {
		_ = a.rtmpLn.Close() // ends ServeRTMP
		a.bridge.Close()
	}
	cancel()
	wg.Wait()
	a.closeListeners()
	return err
}

func port(addr net.Addr) string {
	_, p, _ := net.SplitHostPort(addr.String())
	return p
}
