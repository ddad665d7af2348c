package sfu

import (
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Source says what a published track carries, as people see it: a camera and
// its microphone, or a shared screen and its sound. Screens are the legacy
// "aux" stream, with privileges of their own.
type Source string

// Track sources.
const (
	SourceCamera      Source = "camera"
	SourceMicrophone  Source = "microphone"
	SourceScreen      Source = "screen"
	SourceScreenAudio Source = "screen_audio"
)

// ErrBadSource is returned for a source name that is none of the above.
var ErrBadSource = errors.New(`source must be "camera", "microphone", "screen" or "screen_audio"`)

// maxSources bounds the sources an offer may name (one per m-line).
const maxSources = 32

// IsScreen reports whether s is a shared screen or its sound.
func (s Source) IsScreen() bool { return s == SourceScreen || s == SourceScreenAudio }

// defaultSource is what a track of kind k carries when its publisher does not say.
func defaultSource(k webrtc.RTPCodecType) Source {
	if k == webrtc.RTPCodecTypeAudio {
		return SourceMicrophone
	}
	return SourceCamera
}

// ParseSource checks a source name from a client.
func ParseSource(s string) (Source, error) {
	switch Source(s) {
	case SourceCamera, SourceMicrophone, SourceScreen, SourceScreenAudio:
		return Source(s), nil
	}
	return "", fmt.Errorf("%w, got %q", ErrBadSource, s)
}

// fits reports whether source s may be carried by a track of kind k.
func (s Source) fits(k webrtc.RTPCodecType) bool {
	if k == webrtc.RTPCodecTypeAudio {
		return s == SourceMicrophone || s == SourceScreenAudio
	}
	return s == SourceCamera || s == SourceScreen
}

// ScreenStreamSuffix ends the stream ID subscribers see for a shared screen
// and its sound, so that they form a MediaStream apart from the sharer's
// camera and microphone; "." is not part of user IDs.
const ScreenStreamSuffix = ".screen"

// streamIDOf is the MediaStream ID subscribers see for t: its owner, or the
// owner's screen stream.
func streamIDOf(t *Track) string {
	if t.source.IsScreen() {
		return t.owner + ScreenStreamSuffix
	}
	return t.owner
}
