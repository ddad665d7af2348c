package whip

import (
	"fmt"
	"strings"
)

// fragment is a trickle-ice-sdpfrag body (RFC 8840) as WHIP clients PATCH it.
type fragment struct {
	ufrag, pwd string
	candidates []fragCandidate
	end        bool // a=end-of-candidates
}

type fragCandidate struct {
	mid       string
	candidate string // "candidate:..."
}

// maxFragCandidates bounds one PATCH (a client gathers a handful per interface).
const maxFragCandidates = 64

func parseFragment(body string) (*fragment, error) {
	f := &fragment{}
	mid := ""
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		key, value, _ := strings.Cut(line, ":")
		switch {
		case strings.HasPrefix(line, "m="):
			mid = ""
		case key == "a=mid":
			mid = value
		case key == "a=ice-ufrag":
			f.ufrag = value
		case key == "a=ice-pwd":
			f.pwd = value
		case key == "a=candidate":
			if len(f.candidates) == maxFragCandidates {
				return nil, fmt.Errorf("%w: more than %d candidates in one PATCH", ErrBadOffer, maxFragCandidates)
			}
			f.candidates = append(f.candidates, fragCandidate{mid: mid, candidate: strings.TrimPrefix(line, "a=")})
		case line == "a=end-of-candidates":
			f.end = true
		case strings.HasPrefix(line, "a=") || len(line) > 1 && line[1] == '=':
			// other attributes (a=group, a=ice-options) are not ours to act on
		default:
			return nil, fmt.Errorf("%w: line %q is not SDP (want a trickle-ice-sdpfrag)", ErrBadOffer, line)
		}
	}
	return f, nil
}
