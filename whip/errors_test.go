package whip

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
)

// manualOffer is a hand-made offer: one m-line of kind with codec, in direction.
func manualOffer(kind, codec, direction string) string {
	return strings.Join([]string{"v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
		"m=" + kind + " 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:0", "a=" + direction,
		"a=rtpmap:96 " + codec, "a=ice-ufrag:abcd", "a=ice-pwd:0123456789012345678901",
		"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
		"a=setup:actpass", ""}, "\r\n")
}

func TestRefusals(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.MaxSessions = 2 })
	// A live publisher: alice in room "r".
	pub := newPublisher(t, webrtc.MimeTypeH264)
	aliceKey := ts.key(t, "alice", "r", auth.PrivAll)
	resp, answer := request(t, "POST", ts.URL+"/whip/r/alice", aliceKey, "application/sdp", offerOf(t, pub.pc, true))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: got %d %q; want 201", resp.StatusCode, answer)
	}
	loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
	if err := pub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	pub.pump()
	eventually(t, 10*time.Second, "alice publishes", func() bool {
		tr, err := ts.Rooms.Tracks("r", "alice")
		return err == nil && len(tr) == 2
	})
	good := offerOf(t, newPublisher(t, webrtc.MimeTypeH264).pc, false)
	play := offerOf(t, newPlayer(t).pc, false)
	viewKey := ts.key(t, "bob", "r", auth.PrivJoin|auth.PrivReceiveVideo|auth.PrivReceiveAudio)
	frag := "a=ice-ufrag:abcd\r\na=ice-pwd:x\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
	for _, tc := range []struct {
		name, method, path, token, ctype, body string
		hdr                                    []string
		want                                   int
		wantBody                               string
	}{
		{name: "no token", method: "POST", path: "/whip/r/carol", ctype: "application/sdp", body: good, want: 401, wantBody: "Bearer"},
		{name: "forged token", method: "POST", path: "/whip/r/carol", token: "x.y.z", ctype: "application/sdp", body: good, want: 401},
		{name: "token of another user", method: "POST", path: "/whip/r/carol", token: aliceKey, ctype: "application/sdp", body: good, want: 403, wantBody: "alice"},
		{name: "token of another room", method: "POST", path: "/whip/r/carol", token: ts.key(t, "carol", "other", auth.PrivAll), ctype: "application/sdp", body: good, want: 403},
		{name: "token without send bits", method: "POST", path: "/whip/r/bob", token: viewKey, ctype: "application/sdp", body: good, want: 403, wantBody: "send"},
		{name: "wrong content type", method: "POST", path: "/whip/r/carol", token: ts.key(t, "carol", "r", auth.PrivAll), ctype: "text/plain", body: good, want: 415, wantBody: "application/sdp"},
		{name: "empty body", method: "POST", path: "/whip/r/carol", token: ts.key(t, "carol", "r", auth.PrivAll), ctype: "application/sdp", want: 400},
		{name: "not SDP", method: "POST", path: "/whip/r/carol", token: ts.key(t, "carol", "r", auth.PrivAll), ctype: "application/sdp", body: "hello", want: 400},
		{name: "AV1 only", method: "POST", path: "/whip/r/carol", token: ts.key(t, "carol", "r", auth.PrivAll), ctype: "application/sdp", body: manualOffer("video", "AV1/90000", "sendonly"), want: 415, wantBody: "H.264"},
		{name: "sends nothing", method: "POST", path: "/whip/r/carol", token: ts.key(t, "carol", "r", auth.PrivAll), ctype: "application/sdp", body: manualOffer("audio", "opus/48000/2", "recvonly"), want: 400},
		{name: "bad user ID", method: "POST", path: "/whip/r/a.b", token: aliceKey, ctype: "application/sdp", body: good, want: 400},
		{name: "no room, no create bit", method: "POST", path: "/whip/nowhere/carol", token: ts.key(t, "carol", "nowhere", auth.PrivAll&^auth.PrivCreate), ctype: "application/sdp", body: good, want: 404, wantBody: "create"},
		{name: "already publishing", method: "POST", path: "/whip/r/alice", token: aliceKey, ctype: "application/sdp", body: good, want: 409},
		{name: "WHEP unknown room", method: "POST", path: "/whep/nowhere/alice", token: ts.key(t, "bob", "nowhere", auth.PrivAll), ctype: "application/sdp", body: play, want: 404},
		{name: "WHEP unknown member", method: "POST", path: "/whep/r/nobody", token: viewKey, ctype: "application/sdp", body: play, want: 404},
		{name: "WHEP without receive bits", method: "POST", path: "/whep/r/alice", token: ts.key(t, "bob", "r", auth.PrivJoin|auth.PrivSendAudio), ctype: "application/sdp", body: play, want: 403},
		{name: "WHEP codec the player lacks", method: "POST", path: "/whep/r/alice", token: viewKey, ctype: "application/sdp", body: manualOffer("video", "VP8/90000", "recvonly"), want: 415, wantBody: "h264"},
		{name: "WHEP offer that sends", method: "POST", path: "/whep/r/alice", token: viewKey, ctype: "application/sdp", body: manualOffer("video", "H264/90000", "sendonly"), want: 400},
		{name: "PATCH wrong content type", method: "PATCH", path: loc, ctype: "application/sdp", body: frag, want: 415},
		{name: "PATCH stale ETag", method: "PATCH", path: loc, ctype: "application/trickle-ice-sdpfrag", body: frag, hdr: []string{"If-Match", `"nope"`}, want: 412},
		{name: "PATCH ICE restart", method: "PATCH", path: loc, ctype: "application/trickle-ice-sdpfrag", body: frag, hdr: []string{"If-Match", "*"}, want: 422},
		{name: "PATCH another ufrag", method: "PATCH", path: loc, ctype: "application/trickle-ice-sdpfrag", body: frag, hdr: []string{"If-Match", etag}, want: 422},
		{name: "PATCH not SDP", method: "PATCH", path: loc, ctype: "application/trickle-ice-sdpfrag", body: "hello", want: 400},
		{name: "PATCH unknown session", method: "PATCH", path: "/whip/r/alice/0123", ctype: "application/trickle-ice-sdpfrag", body: frag, want: 404},
		{name: "DELETE unknown session", method: "DELETE", path: "/whip/r/alice/0123", want: 404},
		{name: "DELETE through the other protocol", method: "DELETE", path: strings.Replace(loc, "/whip/", "/whep/", 1), want: 404},
		{name: "GET", method: "GET", path: "/whip/r/alice", want: 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := request(t, tc.method, ts.URL+tc.path, tc.token, tc.ctype, tc.body, tc.hdr...)
			if resp.StatusCode != tc.want {
				t.Fatalf("got %d %q; want %d", resp.StatusCode, body, tc.want)
			}
			if !strings.Contains(body, tc.wantBody) {
				t.Errorf("body %q: want it to say %q", body, tc.wantBody)
			}
			if tc.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
	if tr, _ := ts.Rooms.Tracks("r", "alice"); len(tr) != 2 {
		t.Errorf("alice's tracks after the refusals: got %d; want 2 (a refusal harms no one)", len(tr))
	}

	t.Run("session cap", func(t *testing.T) {
		pl := newPlayer(t)
		resp, body := request(t, "POST", ts.URL+"/whep/r/alice", viewKey, "application/sdp", offerOf(t, pl.pc, true))
		if resp.StatusCode != 201 {
			t.Fatalf("first WHEP: got %d %q; want 201", resp.StatusCode, body)
		}
		resp, body = request(t, "POST", ts.URL+"/whep/r/alice", viewKey, "application/sdp", play)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("third session with max 2: got %d %q (Retry-After %q); want 503 with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
	})
	t.Run("CORS preflight", func(t *testing.T) {
		resp, _ := request(t, "OPTIONS", ts.URL+"/whip/r/x", "", "", "", "Origin", "https://studio.example", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization, content-type")
		h := resp.Header
		if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "https://studio.example" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Location") || !strings.Contains(h.Get("Access-Control-Expose-Headers"), "ETag") ||
			!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Link") {
			t.Errorf("preflight: got %d %v", resp.StatusCode, h)
		}
		resp, _ = request(t, "OPTIONS", ts.URL+loc, "", "", "", "Origin", "https://studio.example", "Access-Control-Request-Method", "PATCH")
		if !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PATCH") || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "DELETE") {
			t.Errorf("session preflight: got %v; want PATCH and DELETE allowed", resp.Header)
		}
	})
}

// An encoder whose connection dropped may publish again at once: its old
// session, no longer connected, gives way instead of a 409.
func TestReconnectReplacesDeadSessionAndPlayersFollow(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.OpenLogin = true })
	first := newPublisher(t, webrtc.MimeTypeH264)
	resp, answer := request(t, "POST", ts.URL+"/whip/r/enc", "", "application/sdp", offerOf(t, first.pc, true))
	if resp.StatusCode != 201 {
		t.Fatalf("POST: got %d %q", resp.StatusCode, answer)
	}
	if err := first.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	first.pump()
	eventually(t, 10*time.Second, "the first session publishes", func() bool {
		tr, err := ts.Rooms.Tracks("r", "enc")
		return err == nil && len(tr) == 2
	})
	// A player watches throughout: the new session's tracks take over its m-lines.
	pl := newPlayer(t)
	resp, answer = request(t, "POST", ts.URL+"/whep/r/enc", "", "application/sdp", offerOf(t, pl.pc, true))
	if resp.StatusCode != 201 {
		t.Fatalf("WHEP: got %d %q", resp.StatusCode, answer)
	}
	if err := pl.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the player receives the first session", func() bool { return pl.count("video") > 10 && pl.count("audio") > 10 })
	first.close() // the encoder vanishes without DELETE
	second := newPublisher(t, webrtc.MimeTypeH264)
	offer := offerOf(t, second.pc, true)
	var code int
	eventually(t, 15*time.Second, "the second session is accepted once the first is seen disconnected", func() bool {
		resp, answer = request(t, "POST", ts.URL+"/whip/r/enc", "", "application/sdp", offer)
		code = resp.StatusCode
		return code == 201
	})
	if err := second.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	second.pump()
	eventually(t, 10*time.Second, "the second session publishes", func() bool {
		tr, err := ts.Rooms.Tracks("r", "enc")
		return err == nil && len(tr) == 2
	})
	v, a := pl.count("video"), pl.count("audio")
	eventually(t, 10*time.Second, "the player receives the second session on the same connection", func() bool {
		return pl.count("video") > v+20 && pl.count("audio") > a+20
	})
}
