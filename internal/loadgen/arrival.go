package loadgen

import (
	"fmt"
	"net"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"

	"github.com/openroom/openroom/internal/udpbatch"
	"github.com/openroom/openroom/sfu/twcc"
)

// Arrival times: what a received packet's one-way delay is measured to.
const (
	// ArrivalKernel is when the packet reached the member's socket (the
	// kernel's receive timestamp, SO_TIMESTAMPNS): what the load tool's own
	// backlog adds does not count as the server's delay.
	ArrivalKernel = "kernel"
	// ArrivalRead is when the member's goroutine read the packet, as any
	// client library gives it (and as the side-by-side benchmark measures
	// both servers: LiveKit's SDK has no socket of the tool's to stamp).
	ArrivalRead = "read"
)

// arrivalBits sizes the run's arrival table: 1<<18 slots hold about 4 s of
// 1 x 300 (55,000 packets/s), far more than a packet waits to be read.
const arrivalBits = 18

// memberReadBuffer is each member socket's receive buffer, bytes.
const memberReadBuffer = 1 << 20

// stampedNet is pion's network with every UDP socket's reads observed: each
// datagram's kernel receive time goes into arrivals, by SSRC and sequence
// number, before pion decrypts it. A member's Receive looks the time up.
type stampedNet struct {
	*stdnet.Net
	arrivals *twcc.ArrivalTable
}

func newStampedNet(arrivals *twcc.ArrivalTable) (*stampedNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("loadgen: network: %w", err)
	}
	return &stampedNet{Net: n, arrivals: arrivals}, nil
}

// ListenUDP opens a socket whose ReadFrom (what ICE reads with) records
// arrivals.
func (n *stampedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	u, ok := c.(*net.UDPConn)
	if !ok {
		return c, nil
	}
	b, err := udpbatch.New(u)
	if err != nil {
		_ = u.Close()
		return nil, err
	}
	b.ObserveReads(n.arrivals.Observe)
	// A member's socket holds about a second of its media (the default, some
	// 90 packets, overflows when the tool stalls for a keyframe or two): what
	// the tool is late to read is not lost, and the late reading is not delay.
	_, _ = b.SetReadBuffer(memberReadBuffer)
	return &stampedConn{UDPConn: u, b: b}, nil
}

// stampedConn is a UDP socket whose ReadFrom goes through udpbatch's timed read.
type stampedConn struct {
	*net.UDPConn
	b *udpbatch.Conn
}

func (c *stampedConn) ReadFrom(p []byte) (int, net.Addr, error) { return c.b.ReadFrom(p) }
