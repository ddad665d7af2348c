// Command openroom is the whole self-hosted video room server: room API,
// WebSocket signaling, a Pion SFU and the web demo, in one binary.
//
//	openroom [flags]                                 run the server
//	openroom token --user U [--room R] [--ttl 1h]    print tokens for a backend
//	openroom load --url URL [--publishers P] [--subscribers S]   load a server and measure it
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, environ(os.Environ()))
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env environ) int {
	if len(args) > 0 && args[0] == "token" {
		return runToken(args[1:], stdout, stderr, env)
	}
	if len(args) > 0 && args[0] == "load" {
		return runLoad(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 1 && args[0] == "config" && args[1] == "print" {
		return runConfigPrint(args[2:], stdout, stderr, env)
	}
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	return runServer(ctx, args, stderr, env)
}

const usage = `openroom: self-hosted video rooms for browsers and WeChat mini-programs

Usage:
  openroom [flags]                                   run the server (open http://localhost:8080)
  openroom token --user U [--room R] [--ttl 1h]      print a userSig (and a privateMapKey for R)
  openroom config print [flags]                      print the effective config (secrets masked)
  openroom load --url URL [--publishers P] [--subscribers S] [--json]
                                                     load a server and measure it (docs/load.md)

Server flags (an empty address disables that listener):
  --config FILE        YAML file overlaying the defaults (unknown keys are an error)
  --http ADDR          room API, signaling and demo (default :8080)
  --https ADDR         the same over TLS, e.g. :443 (default: off); needs --tls-cert and
                       --tls-key, or --tls-domains
  --tls-cert FILE      PEM certificate chain for https (reloaded when it changes)
  --tls-key FILE       PEM private key for https
  --tls-domains D,...  automatic certificates (Let's Encrypt) for these domains
  --tls-cache-dir DIR  where automatic certificates are kept (default /var/lib/openroom/certs)
  --tls-redirect=BOOL  while https is on, http redirects to it, except /healthz (default true)
  --rtc-port N         the one UDP port for all WebRTC traffic, 0 disables (default 7882)
  --node-ip IP         address announced in ICE candidates (default: the machine's addresses)
  --rtmp ADDR          mini-program bridge: RTMP ingest and playback (default :1935)
  --secret S           token secret (default: random, printed at start)
  --open-login=BOOL    anyone may get tokens and join (default true)
  --room-capacity N    members per room (default 16)
  --member-timeout D   drop members silent this long (default 20s)
  --log-level L        debug, info, warn, error (default info)
  --log-format F       text or json (default text)
  --production         refuse dev-mode shortcuts: open login must be off, a secret must be set
  --admin-token T      token for /admin and its API (default: random, printed at start)
  --drain D            how long shutdown waits for members to leave (default 10s)
  --redis-url URL      cluster mode: nodes share rooms through this Redis, e.g.
                       redis://127.0.0.1:6379/0 (default: off, one node)
  --node-id ID         this node's name in the cluster (default: random)
  --public-url URL     this node's own base URL, where members of its rooms are sent
                       (default http://{node-ip}:{http port})
  --node-capacity N    members this node hosts before new members of its rooms go to
                       other nodes, which relay the room from here (default 0: no limit)
  --turn ADDR          TURN server over UDP and TCP (default :3478)
  --turn-tls ADDR      TURN over TLS, with --turn-cert and --turn-key, or https's
                       certificate (default :5349)
  --turn-cert FILE     PEM certificate chain for TURN over TLS
  --turn-key FILE      PEM private key for TURN over TLS
  --turn-host HOST     host put in the TURN URLs (default: node IP, else the client's Host)
  --turn-relay-ports R relay port range (default 49152-65535)
  --turn-allow CIDRS   private ranges relays may reach, comma-separated (default none)
Environment: OPENROOM_ and a config key in capitals: OPENROOM_HTTP, OPENROOM_RTC_PORT,
OPENROOM_NODE_IP, OPENROOM_SECRET, ... (an unknown OPENROOM_ name is warned about at start)
`
