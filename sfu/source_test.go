package sfu

import (
	"errors"
	"testing"

	"github.com/pion/webrtc/v4"
)

// offerSDP is a publisher offer sending video on mid 0 and audio on mid 1.
const offerSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n"

func TestCheckPublishSources(t *testing.T) {
	t.Parallel()
	camera := Permissions{SendAudio: true, SendVideo: true}
	aux := Permissions{SendAux: true}
	all := Permissions{SendAudio: true, SendVideo: true, SendAux: true}
	tests := []struct {
		name    string
		perms   Permissions
		sources map[string]Source
		want    error
	}{
		{name: "camera and microphone by default", perms: camera},
		{name: "screen and its sound with the aux bit", perms: aux, sources: map[string]Source{"0": SourceScreen, "1": SourceScreenAudio}},
		{name: "screen without the aux bit", perms: camera, sources: map[string]Source{"0": SourceScreen}, want: ErrNotAllowed},
		{name: "camera with only the aux bit", perms: aux, sources: map[string]Source{"1": SourceScreenAudio}, want: ErrNotAllowed},
		{name: "a screen on an audio m-line", perms: all, sources: map[string]Source{"1": SourceScreen}, want: ErrBadSource},
		{name: "a microphone on a video m-line", perms: all, sources: map[string]Source{"0": SourceMicrophone}, want: ErrBadSource},
		{name: "a mid the offer does not have", perms: camera, sources: map[string]Source{"7": SourceScreen}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &Peer{cfg: PeerConfig{Permissions: tt.perms}}
			err := p.checkPublish(offerSDP, tt.sources)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("checkPublish: got %v; want %v", err, tt.want)
			}
		})
	}
}

func TestParseSource(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"camera", "microphone", "screen", "screen_audio"} {
		if got, err := ParseSource(name); err != nil || string(got) != name {
			t.Errorf("ParseSource(%q) = %q, %v; want it back", name, got, err)
		}
	}
	for _, bad := range []string{"", "Screen", "window", "aux"} {
		if _, err := ParseSource(bad); !errors.Is(err, ErrBadSource) {
			t.Errorf("ParseSource(%q): got %v; want ErrBadSource", bad, err)
		}
	}
}

func TestPermissionsForScreens(t *testing.T) {
	t.Parallel()
	screen := NewTrack(TrackOptions{ID: "s", Owner: "a", Kind: webrtc.RTPCodecTypeVideo, Source: SourceScreen})
	camera := NewTrack(TrackOptions{ID: "c", Owner: "a", Kind: webrtc.RTPCodecTypeVideo})
	defer screen.Close()
	defer camera.Close()
	if got := camera.Source(); got != SourceCamera {
		t.Errorf("a video track with no source: got %q; want %q", got, SourceCamera)
	}
	videoOnly := Permissions{ReceiveVideo: true}
	auxOnly := Permissions{ReceiveAux: true}
	if videoOnly.mayReceive(screen) || !videoOnly.mayReceive(camera) {
		t.Errorf("receive video (32) without receive aux (128): screen %v, camera %v; want false, true",
			videoOnly.mayReceive(screen), videoOnly.mayReceive(camera))
	}
	if !auxOnly.mayReceive(screen) || auxOnly.mayReceive(camera) {
		t.Errorf("receive aux (128) alone: screen %v, camera %v; want true, false", auxOnly.mayReceive(screen), auxOnly.mayReceive(camera))
	}
}

func TestScreenStreamID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		src  Source
		want string
	}{{SourceCamera, "alice"}, {SourceMicrophone, "alice"}, {SourceScreen, "alice.screen"}, {SourceScreenAudio, "alice.screen"}} {
		tr := NewTrack(TrackOptions{ID: "t", Owner: "alice", Kind: webrtc.RTPCodecTypeVideo, Source: tt.src})
		if got := streamIDOf(tr); got != tt.want {
			t.Errorf("stream ID of a %s track: got %q; want %q", tt.src, got, tt.want)
		}
		tr.Close()
	}
}
