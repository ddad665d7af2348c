package whip

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
)

// A pion WHIP client publishes H.264 and Opus into a room it creates; the
// room sees a member of kind "whip" with both tracks; a pion WHEP client
// plays them; DELETE ends both.
func TestPublishAndPlay(t *testing.T) {
	ts := startServer(t, nil)
	pub := newPublisher(t, webrtc.MimeTypeH264)
	key := ts.key(t, "obs", "live1", auth.PrivAll)
	resp, answer := request(t, "POST", ts.URL+"/whip/live1/obs", key, "application/sdp", offerOf(t, pub.pc, true))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whip: got %d %q; want 201", resp.StatusCode, answer)
	}
	for h, want := range map[string]string{"Content-Type": "application/sdp", "Accept-Patch": "application/trickle-ice-sdpfrag"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: got %q; want %q", h, got, want)
		}
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/whip/live1/obs/") || resp.Header.Get("ETag") == "" {
		t.Errorf("Location %q, ETag %q: want /whip/live1/obs/{id} and an ETag", loc, resp.Header.Get("ETag"))
	}
	if !strings.Contains(answer, "a=candidate:") {
		t.Errorf("answer has no candidate: a WHIP answer carries the server's candidates\n%s", answer)
	}
	if links := resp.Header.Values("Link"); len(links) != 1 || !strings.Contains(links[0], `rel="ice-server"`) || !strings.Contains(links[0], `username="u-obs"`) {
		t.Errorf("Link: got %q; want the TURN server as rel=ice-server with credentials", links)
	}
	if got := firstVideoCodec(t, answer); !strings.EqualFold(got, "H264") {
		t.Errorf("the answer's first video codec: got %s; want H264 (the offer put VP8 first; FLV viewers need H.264)", got)
	}
	if err := pub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	pub.pump()
	eventually(t, 10*time.Second, "the WHIP member publishes two tracks", func() bool {
		ms, err := ts.Rooms.Members("live1")
		return err == nil && len(ms) == 1 && ms[0].Kind == room.KindWHIP && len(ms[0].Tracks) == 2
	})

	pl := newPlayer(t)
	resp, answer = request(t, "POST", ts.URL+"/whep/live1/obs", ts.key(t, "viewer1", "live1", auth.PrivJoin|auth.PrivReceiveAudio|auth.PrivReceiveVideo),
		"application/sdp", offerOf(t, pl.pc, true))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whep: got %d %q; want 201", resp.StatusCode, answer)
	}
	wloc := resp.Header.Get("Location")
	if !strings.HasPrefix(wloc, "/whep/live1/obs/") {
		t.Errorf("WHEP Location %q: want /whep/live1/obs/{id}", wloc)
	}
	if err := pl.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the WHEP player receives video and audio", func() bool {
		return pl.count("video") > 20 && pl.count("audio") > 20
	})
	if ms, _ := ts.Rooms.Members("live1"); len(ms) != 1 {
		t.Errorf("members: got %d; want 1 (a WHEP viewer is hidden)", len(ms))
	}
	if whip, whep := ts.Server.Sessions(); whip != 1 || whep != 1 {
		t.Errorf("sessions: got %d WHIP, %d WHEP; want 1, 1", whip, whep)
	}

	resp, body := request(t, "DELETE", ts.URL+wloc, "", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("DELETE WHEP: got %d %q; want 200", resp.StatusCode, body)
	}
	resp, body = request(t, "DELETE", ts.URL+loc, key, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("DELETE WHIP: got %d %q; want 200", resp.StatusCode, body)
	}
	eventually(t, 5*time.Second, "the room closes with its only member gone", func() bool { return !ts.Rooms.Exists("live1") })
	if resp, _ := request(t, "DELETE", ts.URL+loc, key, "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE: got %d; want 404", resp.StatusCode)
	}
	eventually(t, 5*time.Second, "no session left", func() bool { a, b := ts.Server.Sessions(); return a+b == 0 })
}

// firstVideoCodec returns the encoding name of the first payload type of the
// first video m-line of an SDP.
func firstVideoCodec(t *testing.T, sdpText string) string {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(sdpText); err != nil {
		t.Fatal(err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" || len(md.MediaName.Formats) == 0 {
			continue
		}
		for _, a := range md.Attributes {
			if a.Key == "rtpmap" && strings.HasPrefix(a.Value, md.MediaName.Formats[0]+" ") {
				name, _, _ := strings.Cut(strings.TrimPrefix(a.Value, md.MediaName.Formats[0]+" "), "/")
				return name
			}
		}
	}
	return ""
}

// A client that trickles (whip-whep.js does: it POSTs its offer before it
// gathers) sends its candidates with PATCH, and connects.
func TestTrickleWithPatch(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.OpenLogin = true })
	pub := newPublisher(t, webrtc.MimeTypeH264)
	o, err := pub.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, answer := request(t, "POST", ts.URL+"/whip/r2/enc", "", "application/sdp", o.SDP)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: got %d %q; want 201", resp.StatusCode, answer)
	}
	loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
	var cands []string
	gathered := make(chan struct{})
	pub.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			close(gathered)
			return
		}
		cands = append(cands, "a="+c.ToJSON().Candidate)
	})
	if err := pub.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := pub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	ufrag := strings.TrimSpace(strings.SplitN(strings.SplitN(o.SDP, "a=ice-ufrag:", 2)[1], "\n", 2)[0])
	frag := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" + strings.Join(cands, "\r\n") + "\r\na=end-of-candidates\r\n"
	resp, body := request(t, "PATCH", ts.URL+loc, "", "application/trickle-ice-sdpfrag", frag, "If-Match", etag)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PATCH: got %d %q; want 204", resp.StatusCode, body)
	}
	pub.pump()
	eventually(t, 10*time.Second, "the trickling publisher connects and publishes", func() bool {
		tr, err := ts.Rooms.Tracks("r2", "enc")
		return err == nil && len(tr) == 2
	})
}
