package whip

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
)

// offer is what the server checks in a client's SDP before it costs a peer connection.
type offer struct {
	sdp   string
	ufrag string // the client's ICE username fragment: a PATCH with another one is an ICE restart
	media []media
}

type media struct {
	kind, mid       string // kind: "audio", "video" or another m= type
	sends, receives bool   // from the client's point of view
	codecs          []string
	rejected        bool // port 0
	forwardable     bool
}

// supported are the codecs openroom forwards, by kind (lower case, as in rtpmap).
var supported = map[string][]string{"video": {"h264", "vp8"}, "audio": {"opus"}}

// parseOffer checks an offer's size and shape and lists its media.
func parseOffer(body string, maxBytes, maxMedia int) (*offer, error) {
	if strings.TrimSpace(body) == "" {
		return nil, fmt.Errorf("%w: empty body: POST the SDP offer", ErrBadOffer)
	}
	if len(body) > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes; at most %d (max_sdp_bytes)", ErrBadOffer, len(body), maxBytes)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(body); err != nil {
		return nil, fmt.Errorf("%w: not an SDP: %v", ErrBadOffer, err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no media sections (m= lines)", ErrBadOffer)
	}
	if len(sd.MediaDescriptions) > maxMedia {
		return nil, fmt.Errorf("%w: %d media sections (m= lines); at most %d (max_sdp_media)", ErrBadOffer, len(sd.MediaDescriptions), maxMedia)
	}
	o := &offer{sdp: body}
	o.ufrag, _ = sd.Attribute("ice-ufrag")
	for _, md := range sd.MediaDescriptions {
		m := media{kind: md.MediaName.Media, sends: true, receives: true, rejected: md.MediaName.Port.Value == 0}
		m.mid, _ = md.Attribute("mid")
		if o.ufrag == "" {
			o.ufrag, _ = md.Attribute("ice-ufrag")
		}
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendonly":
				m.receives = false
			case "recvonly":
				m.sends = false
			case "inactive":
				m.sends, m.receives = false, false
			case "rtpmap":
				// "96 H264/90000"
				if _, enc, ok := strings.Cut(a.Value, " "); ok {
					name, _, _ := strings.Cut(enc, "/")
					name = strings.ToLower(name)
					m.codecs = append(m.codecs, name)
					if slices.Contains(supported[m.kind], name) {
						m.forwardable = true
					}
				}
			}
		}
		if m.rejected {
			m.sends, m.receives = false, false
		}
		o.media = append(o.media, m)
	}
	return o, nil
}

// checkPublish refuses an offer that sends nothing, or media openroom cannot forward.
func (o *offer) checkPublish() error {
	sending := 0
	for _, m := range o.media {
		if !m.sends || (m.kind != "audio" && m.kind != "video") {
			continue
		}
		sending++
		if !m.forwardable {
			return fmt.Errorf("%w: the %s m-line (mid %q) offers %s; openroom takes H.264 or VP8 video and Opus audio",
				ErrUnsupported, m.kind, m.mid, codecList(m.codecs))
		}
	}
	if sending == 0 {
		return fmt.Errorf("%w: the offer sends no audio or video (a WHIP offer has sendonly m-lines)", ErrBadOffer)
	}
	return nil
}

// checkPlay refuses an offer that receives nothing, or cannot decode a
// codec that plays: codecs are the MIME subtypes of the tracks it would
// receive, by kind ("video" -> "h264").
func (o *offer) checkPlay(codecs map[string]string) error {
	receiving := 0
	for _, m := range o.media {
		if !m.receives || (m.kind != "audio" && m.kind != "video") {
			continue
		}
		receiving++
		if want, ok := codecs[m.kind]; ok && !slices.Contains(m.codecs, want) {
			return fmt.Errorf("%w: the member sends %s %s, which the %s m-line (mid %q) does not offer (it offers %s)",
				ErrUnsupported, m.kind, want, m.kind, m.mid, codecList(m.codecs))
		}
	}
	if receiving == 0 {
		return fmt.Errorf("%w: the offer receives no audio or video (a WHEP offer has recvonly m-lines)", ErrBadOffer)
	}
	return nil
}

func codecList(c []string) string {
	if len(c) == 0 {
		return "no codec"
	}
	return strings.Join(slices.Compact(slices.Sorted(slices.Values(c))), ", ")
}
