// Package twcc is the send side of transport-wide congestion control for one
// subscriber connection: it stamps every outgoing RTP packet with a
// transport-wide sequence number, remembers when each left and how big it was,
// and turns the receiver's transport-cc feedback into a downlink estimate.
//
// The estimate follows Google Congestion Control
// (draft-ietf-rmcat-gcc-02) as libwebrtc runs it: a delay-based part (the
// trend of one-way queueing delay between groups of packets, against an
// adaptive threshold, driving an AIMD rate controller) capped by a loss-based
// part. It replaces pion's gcc.SendSideBWE and its header-extension and
// feedback interceptors, which cost about a tenth of the server's CPU under
// load (a container/list element, a map entry and an attribute map per packet):
// here a packet costs one uncontended lock and a write into a fixed ring.
package twcc
