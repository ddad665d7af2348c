package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// relayDialTimeout bounds connecting to the room's node and its handshake.
const relayDialTimeout = 5 * time.Second

// relayRTMP passes an RTMP publish or play for a room that lives on another
// node (cluster mode) to that node's RTMP listener at addr, message by
// message: RTMP clients do not follow redirects. The room's node checks the
// stream key; until it accepts, this node refuses nothing itself.
//
// One goroutine does all of it: a gortmplib connection answers what it reads
// (acknowledgements, pings) on its own writer, so reading and writing one
// connection from two goroutines would race. What goes the other way (a
// player's acknowledgements, the room's node's) waits in the socket buffers:
// a few bytes per megabytes of media.
func (s *Server) relayRTMP(conn net.Conn, sc *gortmplib.ServerConn, addr string, log *slog.Logger, authorized func()) error {
	u := &url.URL{Scheme: "rtmp", Host: addr, Path: sc.URL.Path, RawQuery: sc.URL.RawQuery}
	c := &gortmplib.Client{URL: u, Publish: sc.Publish}
	ctx, cancel := context.WithTimeout(context.Background(), relayDialTimeout)
	err := c.Initialize(ctx)
	cancel()
	if err != nil {
		_ = sc.RejectAction()
		return fmt.Errorf("the room lives on the node at %s, which refused or did not answer: %w", addr, err)
	}
	defer c.Close()
	authorized()
	if err := sc.AcceptAction(); err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	log.Info("rtmp: passed on to the room's node", "node", addr, "publish", sc.Publish)
	from, to, fromConn := sc.Read, c.Write, conn
	if !sc.Publish {
		from, to, fromConn = c.Read, sc.Write, c.NetConn()
	}
	for {
		_ = fromConn.SetReadDeadline(time.Now().Add(rtmpTimeout))
		msg, err := from()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *message.SetChunkSize, *message.Acknowledge, *message.SetWindowAckSize, *message.SetPeerBandwidth,
			*message.UserControlPingRequest, *message.UserControlPingResponse, *message.UserControlSetBufferLength,
			*message.UserControlStreamBegin, *message.UserControlStreamDry, *message.UserControlStreamEOF,
			*message.UserControlStreamIsRecorded:
			continue // each connection's own business
		case *message.CommandAMF0:
			if m.Name == "deleteStream" || m.Name == "FCUnpublish" || m.Name == "closeStream" {
				return nil // the client ends the stream
			}
			continue
		}
		if sc.Publish {
			_ = c.NetConn().SetWriteDeadline(time.Now().Add(rtmpTimeout))
		} else {
			_ = conn.SetWriteDeadline(time.Now().Add(s.opts.ViewerWriteTimeout))
		}
		if err := to(msg); err != nil {
			return err
		}
	}
}

// roomNode is Options.RoomNode, for a room not open here.
func (s *Server) roomNode(room string) string {
	if s.opts.RoomNode == nil || s.opts.Rooms.Exists(room) {
		return ""
	}
	return s.opts.RoomNode(room)
}
