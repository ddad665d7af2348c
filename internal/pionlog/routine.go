package pionlog

import "strings"

// routinePrefixes start pion warnings that every normal session logs, at
// shutdown, or when a client goes away: nothing for an operator to do, so they
// go to debug. Checked against pion webrtc v4.2, ice v4.4, turn v5.1 and a
// session of openroom load (internal/loadgen).
var routinePrefixes = []string{
	// ice: the first checks run before the client's candidates arrive.
	"Failed to ping without candidate pairs",
	// ice: retransmitted or late STUN answers to checks already settled.
	"Discard message from",
	"Discard success response from",
	"Discard success message from",
	// ice: packets from an address that is no candidate (a client's NAT moved,
	// or a stray sender on the shared WebRTC port).
	"Discarded message from",
	"Failed to handle decode ICE from",
	"No Username attribute in STUN message from",
	// webrtc: packets that arrive before their DTLS/SRTP endpoint exists, or
	// after it is gone.
	"Warning: mux: no endpoint for packet",
	// webrtc: RTCP for a track that is being set up or torn down.
	"Incoming unhandled RTCP ssrc",
	// turn: a scanner, or a client that gave up on TURN over TLS (the https
	// listener logs its failed handshakes at debug too).
	"TLS handshake failed",
}

// closedErrors end errors that only say that a connection or stream was
// closed, by this server at shutdown or by a client that left.
var closedErrors = []string{
	"use of closed network connection",
	"io: read/write on closed pipe",
	"is already closed", // srtp: stream is already closed
	"broken pipe",
	"connection reset by peer",
}

// routine reports whether a pion warning or error is routine (see above).
func routine(msg string) bool {
	for _, p := range routinePrefixes {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	for _, s := range closedErrors {
		if strings.HasSuffix(msg, s) {
			return true
		}
	}
	return false
}
