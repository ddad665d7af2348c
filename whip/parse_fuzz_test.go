package whip

import (
	"errors"
	"testing"
)

// FuzzParse feeds offers and trickle fragments from the network to the
// parsers: they must refuse what they cannot use with ErrBadOffer, never
// panic, and never report more than they were given.
func FuzzParse(f *testing.F) {
	f.Add(manualOffer("video", "H264/90000", "sendonly"))
	f.Add(manualOffer("audio", "opus/48000/2", "recvonly"))
	f.Add("a=ice-ufrag:abcd\r\na=ice-pwd:x\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host\r\na=end-of-candidates\r\n")
	f.Add("m=video 0 RTP/AVP 96\r\na=rtpmap:96\r\n")
	f.Fuzz(func(t *testing.T, body string) {
		if o, err := parseOffer(body, 1<<16, 16); err == nil {
			if len(o.media) == 0 || len(o.media) > 16 {
				t.Fatalf("parseOffer accepted %d media sections", len(o.media))
			}
			for _, check := range []error{o.checkPublish(), o.checkPlay(map[string]string{"video": "h264", "audio": "opus"})} {
				if check != nil && !errors.Is(check, ErrBadOffer) && !errors.Is(check, ErrUnsupported) {
					t.Fatalf("check: %v is neither ErrBadOffer nor ErrUnsupported", check)
				}
			}
		} else if !errors.Is(err, ErrBadOffer) {
			t.Fatalf("parseOffer: %v is not ErrBadOffer", err)
		}
		if fr, err := parseFragment(body); err == nil {
			if len(fr.candidates) > maxFragCandidates {
				t.Fatalf("parseFragment kept %d candidates", len(fr.candidates))
			}
		} else if !errors.Is(err, ErrBadOffer) {
			t.Fatalf("parseFragment: %v is not ErrBadOffer", err)
		}
	})
}
