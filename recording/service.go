package recording

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openroom/openroom/room"
)

// ErrOff means recording is not configured (no record_dir).
var ErrOff = errors.New("recording is off: set record_dir (--record-dir, OPENROOM_RECORD_DIR)")

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Dir   string // record_dir; "" turns recording off
	Auto  bool   // auto_record: every room records from its start
	Rooms *room.Manager
	// Counters sum every recorder's metrics. Optional.
	Counters *Counters
	Logger   *slog.Logger
	Now      func() time.Time
}

// Service starts and stops the recording of rooms: on an operator's request,
// or for every room with Auto. A room's recording ends when it closes.
type Service struct {
	cfg ServiceConfig
	log *slog.Logger

	mu      sync.Mutex         // guards active, stopped, failures and closed
	active  map[string]*active // by room
	stopped map[string]time.Time
	// failures are recordings that stopped themselves, by room: a full disk
	// may leave no room to write the error into their sidecars, so List
	// tells it from here (until the process ends).
	failures map[string][]failure
	closed   bool
}

// failure is a recording that stopped itself: its files start at or after since.
type failure struct {
	since time.Time
	err   string
}

// active is one room recording now.
type active struct {
	rec     *Recorder
	detach  func()
	created time.Time // the room's creation: a room closed and made again is another room
	started time.Time // when the recording started
}

// NewService returns a Service; Run makes Auto and room closes take effect.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Counters == nil {
		cfg.Counters = &Counters{}
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("part", "recording"), active: map[string]*active{}, stopped: map[string]time.Time{},
		failures: map[string][]failure{}}
}

// Enabled reports whether recording is configured.
func (s *Service) Enabled() bool { return s.cfg.Dir != "" }

// Counters are the recorders' metrics.
func (s *Service) Counters() *Counters { return s.cfg.Counters }

// Run follows the rooms every interval until ctx ends: with Auto it starts
// recording new rooms; it ends recordings whose room closed. Then it stops
// every recording.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	if !s.Enabled() {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		s.follow()
		select {
		case <-ctx.Done():
			s.Close()
			return
		case <-tick.C:
		}
	}
}

// follow starts and ends recordings as the rooms come and go.
func (s *Service) follow() {
	rooms := s.cfg.Rooms.Rooms()
	live := make(map[string]time.Time, len(rooms))
	for _, r := range rooms {
		live[r.Name] = r.Created
	}
	s.mu.Lock()
	var gone []string
	for name, a := range s.active {
		if created, ok := live[name]; !ok || !created.Equal(a.created) {
			gone = append(gone, name)
		}
	}
	for name, created := range s.stopped {
		if c, ok := live[name]; !ok || !c.Equal(created) {
			delete(s.stopped, name) // an operator's Stop lasts as long as the room
		}
	}
	var start []string
	if s.cfg.Auto {
		for name, created := range live {
			if _, rec := s.active[name]; !rec && !s.stopped[name].Equal(created) {
				start = append(start, name)
			}
		}
	}
	s.mu.Unlock()
	for _, name := range gone {
		s.end(name, "the room closed")
	}
	for _, name := range start {
		if err := s.Start(name); err != nil && !errors.Is(err, room.ErrNoRoom) {
			s.log.Warn("cannot start recording", "room", name, "err", err)
		}
	}
}

// Recording reports whether room records now.
func (s *Service) Recording(roomName string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.active[roomName]
	return ok
}

// Rooms counts the rooms recording now.
func (s *Service) Rooms() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

// Start records room from now on. Starting a room that records is not an error.
func (s *Service) Start(roomName string) error {
	if !s.Enabled() {
		return ErrOff
	}
	created, ok := s.created(roomName)
	if !ok {
		return fmt.Errorf("%w: %s", room.ErrNoRoom, roomName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("recording: server shutting down")
	}
	if _, ok := s.active[roomName]; ok {
		return nil
	}
	var rec *Recorder
	rec, err := New(roomName, Config{Dir: s.cfg.Dir, Logger: s.cfg.Logger, Now: s.cfg.Now, Counters: s.cfg.Counters,
		NameOf:  func(user string) string { return s.nameOf(roomName, user) },
		OnError: func(err error) { s.failed(roomName, rec, err) }})
	if err != nil {
		return err
	}
	detach, err := s.cfg.Rooms.Watch(roomName, rec)
	if err != nil {
		_ = rec.Close()
		return err
	}
	s.active[roomName] = &active{rec: rec, detach: detach, created: created, started: s.cfg.Now()}
	delete(s.stopped, roomName)
	s.log.Info("recording started", "room", roomName, "dir", filepath.Join(s.cfg.Dir, roomName))
	return nil
}

// Stop ends room's recording; its files are finished. Stopping a room that
// does not record is not an error. With Auto the room stays unrecorded
// until it closes.
func (s *Service) Stop(roomName string) error {
	if !s.Enabled() {
		return ErrOff
	}
	created, ok := s.created(roomName)
	if !ok && !s.Recording(roomName) {
		return fmt.Errorf("%w: %s", room.ErrNoRoom, roomName)
	}
	s.mu.Lock()
	if ok {
		s.stopped[roomName] = created
	}
	s.mu.Unlock()
	s.end(roomName, "stopped by the operator")
	return nil
}

func (s *Service) end(roomName, why string) {
	s.mu.Lock()
	a := s.active[roomName]
	delete(s.active, roomName)
	s.mu.Unlock()
	if a == nil {
		return
	}
	a.detach()
	if err := a.rec.Close(); err != nil {
		s.log.Warn("recording ended with an error", "room", roomName, "err", err)
	}
	s.log.Info("recording stopped", "room", roomName, "why", why)
}

// failed: the recorder stopped itself (a full disk). It runs on the
// recorder's goroutine; the call goes on.
func (s *Service) failed(roomName string, rec *Recorder, err error) {
	s.log.Error("recording stopped by an error: the call goes on unrecorded", "room", roomName, "err", err)
	s.mu.Lock()
	a := s.active[roomName]
	if a != nil && a.rec == rec {
		delete(s.active, roomName)
		s.stopped[roomName] = a.created // Auto must not start it again into the same full disk
		if len(s.failures[roomName]) < maxFailures {
			s.failures[roomName] = append(s.failures[roomName], failure{since: a.started.Add(-time.Minute), err: err.Error()})
		}
	} else {
		a = nil
	}
	s.mu.Unlock()
	if a != nil {
		a.detach()
	}
}

// Close stops every recording and refuses new ones.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	names := make([]string, 0, len(s.active))
	for name := range s.active {
		names = append(names, name)
	}
	s.mu.Unlock()
	for _, name := range names {
		s.end(name, "server shutting down")
	}
}

func (s *Service) created(roomName string) (time.Time, bool) {
	for _, r := range s.cfg.Rooms.Rooms() {
		if r.Name == roomName {
			return r.Created, true
		}
	}
	return time.Time{}, false
}

func (s *Service) nameOf(roomName, user string) string {
	members, err := s.cfg.Rooms.Members(roomName)
	if err != nil {
		return ""
	}
	for _, m := range members {
		if m.UserID == user {
			return m.NickName
		}
	}
	return ""
}

// maxFailures bounds the failures kept per room.
const maxFailures = 16

// List lists room's recordings, newest first; room "" lists every room's.
func (s *Service) List(roomName string) ([]Recording, error) {
	recs, err := s.list(roomName)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range recs {
		r := &recs[i]
		if r.Error != "" || !r.End.IsZero() {
			continue
		}
		if a := s.active[r.Room]; a != nil && !r.Start.Before(a.started.Add(-time.Minute)) {
			continue // being written now
		}
		for _, f := range s.failures[r.Room] {
			if !r.Start.Before(f.since) {
				r.Error = f.err
			}
		}
	}
	return recs, nil
}

func (s *Service) list(roomName string) ([]Recording, error) {
	if !s.Enabled() {
		return nil, ErrOff
	}
	if roomName != "" {
		return List(s.cfg.Dir, roomName)
	}
	entries, err := os.ReadDir(s.cfg.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // nothing recorded yet
	}
	if err != nil {
		return nil, fmt.Errorf("recording: list %s: %w", s.cfg.Dir, err)
	}
	var all []Recording
	for _, e := range entries {
		if !e.IsDir() || !room.ValidName(e.Name()) {
			continue
		}
		recs, err := List(s.cfg.Dir, e.Name())
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
	}
	slices.SortStableFunc(all, func(a, b Recording) int {
		if c := strings.Compare(a.Room, b.Room); c != 0 {
			return c
		}
		return b.Start.Compare(a.Start)
	})
	return all, nil
}

// Open opens one of room's files (a recording or its sidecar) for download.
// The name must be a plain file name in the room's directory.
func (s *Service) Open(roomName, name string) (*os.File, fs.FileInfo, error) {
	if !s.Enabled() {
		return nil, nil, ErrOff
	}
	if !room.ValidName(roomName) || name == "" || name != filepath.Base(name) || strings.ContainsAny(name, `/\`) ||
		strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".mp4") || strings.HasSuffix(name, ".json")) {
		return nil, nil, fmt.Errorf("recording %s/%s: %w", roomName, name, fs.ErrNotExist)
	}
	f, err := os.Open(filepath.Join(s.cfg.Dir, roomName, name))
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, fmt.Errorf("recording %s/%s: %w", roomName, name, fs.ErrNotExist)
	}
	return f, info, nil
}
