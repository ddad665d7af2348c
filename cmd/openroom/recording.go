package main

import (
	"fmt"
	"io"
	"os"

	"github.com/openroom/openroom/admin"
	"github.com/openroom/openroom/metrics"
	"github.com/openroom/openroom/recording"
)

// adminRecordings shows the recording service on the admin page.
type adminRecordings struct{ svc *recording.Service }

func (a adminRecordings) Recording(room string) bool { return a.svc.Recording(room) }
func (a adminRecordings) Start(room string) error    { return a.svc.Start(room) }
func (a adminRecordings) Stop(room string) error     { return a.svc.Stop(room) }

func (a adminRecordings) Files(room string) ([]admin.RecordingFile, error) {
	recs, err := a.svc.List(room)
	if err != nil {
		return nil, err
	}
	out := make([]admin.RecordingFile, 0, len(recs))
	for _, r := range recs {
		tracks := make([]string, 0, len(r.Tracks))
		for _, t := range r.Tracks {
			tracks = append(tracks, fmt.Sprintf("%s %s", t.Kind, t.Codec))
		}
		out = append(out, admin.RecordingFile{Room: r.Room, Name: r.File, UserID: r.UserID, NickName: r.Name,
			Start: r.Start, End: r.End, Duration: r.Duration.Seconds(), Bytes: r.Bytes, Tracks: tracks, Complete: r.Complete})
	}
	return out, nil
}

func (a adminRecordings) Open(room, name string) (io.ReadSeekCloser, os.FileInfo, error) {
	f, info, err := a.svc.Open(room, name)
	if err != nil {
		return nil, nil, err
	}
	return f, info, nil
}

func recordingStats(svc *recording.Service) func() metrics.RecordingStats {
	return func() metrics.RecordingStats {
		c := svc.Counters()
		return metrics.RecordingStats{Rooms: float64(svc.Rooms()), Files: float64(c.FilesStarted.Load()),
			Bytes: float64(c.BytesWritten.Load()), WriteErrors: float64(c.WriteErrors.Load()), Dropped: float64(c.DroppedPackets.Load())}
	}
}
