package admin

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"
)

// The profiler routes, behind the admin token like the API (net/http/pprof is
// not imported: its init registers on http.DefaultServeMux):
//
//	GET /admin/debug/pprof/                        the list of profiles (text)
//	GET /admin/debug/pprof/profile?seconds=N       CPU profile over N s (default 30, at most 300)
//	GET /admin/debug/pprof/trace?seconds=N         execution trace over N s (default 5, at most 60)
//	GET /admin/debug/pprof/{name}?debug=N          heap, allocs, goroutine, block, mutex, threadcreate
//
// For example:
//
//	curl -H "Authorization: Bearer $TOKEN" -o cpu.pprof 'https://HOST/admin/debug/pprof/profile?seconds=20'
//	go tool pprof -top cpu.pprof
const pprofPrefix = "/debug/pprof"

// CodeBusy answers a CPU profile or trace asked for while another one runs.
const CodeBusy = 4090

func (h *handler) servePprof(w http.ResponseWriter, r *http.Request, rest string) {
	w.Header().Set("Cache-Control", "no-store")
	if !h.checkToken(w, r) {
		return
	}
	if !allowMethod(w, r, true, http.MethodGet) {
		return
	}
	name := strings.Trim(strings.TrimPrefix(rest, pprofPrefix), "/")
	h.log.Info("admin: profile requested", "profile", name, "query", r.URL.RawQuery, "remote", r.RemoteAddr)
	switch name {
	case "":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fmt.Fprintf(w, "openroom profiles (GET with Authorization: Bearer <admin_token>):\n\n")
		fmt.Fprintf(w, "profile?seconds=30\tCPU profile\ntrace?seconds=5\texecution trace\n")
		for _, p := range pprof.Profiles() {
			fmt.Fprintf(w, "%s?debug=0\t%d now\n", p.Name(), p.Count())
		}
	case "profile":
		serveTimed(w, r, timedProfile{file: "cpu.pprof", what: "a CPU profile", def: 30 * time.Second, max: 300 * time.Second,
			start: pprof.StartCPUProfile, stop: pprof.StopCPUProfile})
	case "trace":
		serveTimed(w, r, timedProfile{file: "trace.out", what: "a trace", def: 5 * time.Second, max: 60 * time.Second,
			start: trace.Start, stop: trace.Stop})
	default:
		p := pprof.Lookup(name)
		if p == nil {
			writeJSON(w, http.StatusNotFound, CodeNotFound, "no such profile: "+name+" (see /admin/debug/pprof/)")
			return
		}
		debug, err := strconv.Atoi(r.URL.Query().Get("debug"))
		if r.URL.Query().Get("debug") == "" {
			debug, err = 0, nil
		}
		if err != nil || debug < 0 || debug > 2 {
			writeJSON(w, http.StatusBadRequest, CodeBadRequest, "debug: want 0, 1 or 2")
			return
		}
		if name == "heap" && r.URL.Query().Get("gc") == "1" {
			runtime.GC()
		}
		if debug == 0 {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.pprof"`)
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
		}
		_ = p.WriteTo(w, debug)
	}
}

// timedProfile is a profile taken over ?seconds=N: the CPU profile, the trace.
type timedProfile struct {
	file, what string
	def, max   time.Duration
	start      func(io.Writer) error
	stop       func()
}

// serveTimed runs p for the asked time and streams it; one at a time.
func serveTimed(w http.ResponseWriter, r *http.Request, p timedProfile) {
	d, ok := durationParam(w, r, p.def, p.max)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+p.file+`"`)
	if err := p.start(w); err != nil {
		w.Header().Del("Content-Disposition")
		writeJSON(w, http.StatusConflict, CodeBusy, p.what+" is already running: try again when it is done")
		return
	}
	sleepCtx(r, d)
	p.stop()
}

// durationParam reads ?seconds=N (whole seconds, 1..max); it answers 400 and
// reports false when N is not one.
func durationParam(w http.ResponseWriter, r *http.Request, def, max time.Duration) (time.Duration, bool) {
	s := r.URL.Query().Get("seconds")
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || time.Duration(n)*time.Second > max {
		writeJSON(w, http.StatusBadRequest, CodeBadRequest,
			fmt.Sprintf("seconds: want a whole number from 1 to %d", int(max/time.Second)))
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// sleepCtx waits d, or until the client goes away.
func sleepCtx(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}
