package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// chunkStream writes msgs as an RTMP client would after the handshake; a
// Set Chunk Size message (type 1) also changes the writer's chunk size.
func chunkStream(t testing.TB, msgs ...*rawmessage.Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteByte(3)
	buf.Write(make([]byte, 1536*2)) // C1, C2
	w := rawmessage.NewWriter(&buf, bytecounter.NewWriter(io.Discard), false)
	for _, m := range msgs {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
		if m.Type == 1 && len(m.Body) == 4 {
			v := uint32(m.Body[0])<<24 | uint32(m.Body[1])<<16 | uint32(m.Body[2])<<8 | uint32(m.Body[3])
			w.SetChunkSize(v & 0x7fffffff)
		}
	}
	return buf.Bytes()
}

func setChunkSize(v uint32) *rawmessage.Message {
	return &rawmessage.Message{ChunkStreamID: 2, Type: 1, Body: []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}}
}

func command(csid byte, n int, ts time.Duration) *rawmessage.Message {
	return &rawmessage.Message{ChunkStreamID: csid, Type: 20, Timestamp: ts, MessageStreamID: 1, Body: bytes.Repeat([]byte{'x'}, n)}
}

// readAll reads the stream through the guard with the library's reader, as
// the server does; it returns the message sizes read and the error that ended it.
func readAll(data []byte, oneByte bool) ([]int, error) {
	var r io.Reader = bytes.NewReader(data)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	g := newRTMPGuard(r)
	if _, err := io.ReadFull(g, make([]byte, rtmpHandshake)); err != nil {
		return nil, err
	}
	bcr := bytecounter.NewReader(g)
	mr := rawmessage.NewReader(bcr, bcr, func(uint32) error { return nil })
	var sizes []int
	for {
		m, err := mr.Read()
		if err != nil {
			return sizes, err
		}
		if m.Type == 1 {
			if len(m.Body) != 4 { // as the library refuses it
				return sizes, fmt.Errorf("set chunk size: a %d-byte body", len(m.Body))
			}
			_ = mr.SetChunkSize(uint32(m.Body[0])<<24 | uint32(m.Body[1])<<16 | uint32(m.Body[2])<<8 | uint32(m.Body[3]))
		}
		sizes = append(sizes, len(m.Body))
	}
}

func TestRTMPGuard(t *testing.T) {
	t.Parallel()
	long := 3 * time.Hour // extended timestamps
	tests := []struct {
		name    string
		data    func(testing.TB) []byte
		sizes   []int // messages the library reads
		refused string
	}{
		{"small commands", func(tb testing.TB) []byte {
			return chunkStream(tb, command(3, 200, 0), command(3, 300, 0), command(4, 100, 0))
		}, []int{200, 300, 100}, ""},
		{"chunked at 128 with extended timestamps", func(tb testing.TB) []byte {
			return chunkStream(tb, command(3, 1000, long), command(3, 1000, long+time.Second), command(5, 129, long))
		}, []int{1000, 1000, 129}, ""},
		{"a larger chunk size", func(tb testing.TB) []byte {
			return chunkStream(tb, setChunkSize(4096), command(3, 10000, 0), command(3, 5, 0))
		}, []int{4, 10000, 5}, ""},
		{"a smaller chunk size", func(tb testing.TB) []byte {
			return chunkStream(tb, setChunkSize(16), command(3, 100, 0), command(6, 33, 0))
		}, []int{4, 100, 33}, ""},
		{"a message over the budget", func(tb testing.TB) []byte {
			return chunkStream(tb, command(3, preAuthMessage+1, 0))
		}, nil, "message before publish"},
		{"too many chunk streams", func(tb testing.TB) []byte {
			var ms []*rawmessage.Message
			for i := range preAuthStreams + 1 {
				ms = append(ms, command(byte(3+i), 10, 0))
			}
			return chunkStream(tb, ms...)
		}, []int{10, 10, 10, 10, 10, 10, 10, 10}, "chunk streams"}, // at most: the first 8
		{"too many bytes", func(tb testing.TB) []byte {
			var ms []*rawmessage.Message
			for range 10 {
				ms = append(ms, command(3, 8000, 0))
			}
			return chunkStream(tb, ms...)
		}, []int{8000, 8000, 8000, 8000, 8000, 8000, 8000}, "bytes before publish"},
		{"encrypted RTMP", func(testing.TB) []byte { return append([]byte{6}, make([]byte, 4000)...) }, nil, "version 6"},
		{"type 3 first", func(testing.TB) []byte {
			return append(append([]byte{3}, make([]byte, 3072)...), 0xc3, 1, 2, 3)
		}, nil, "type 3 header before"},
	}
	for _, tc := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tc.name
			if oneByte {
				name += "/byte by byte"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				sizes, err := readAll(tc.data(t), oneByte)
				if tc.refused == "" {
					if !errors.Is(err, io.EOF) {
						t.Errorf("got %v; want the stream read to its end", err)
					}
				} else if !errors.Is(err, ErrRTMPBudget) || !bytes.Contains([]byte(err.Error()), []byte(tc.refused)) {
					t.Errorf("got %v; want refused: %s", err, tc.refused)
				}
				// Refused, the library may have read fewer (the guard sees what the
				// library buffers, ahead of what it has parsed).
				if len(sizes) > len(tc.sizes) || (tc.refused == "" && len(sizes) != len(tc.sizes)) {
					t.Fatalf("messages read: got %v; want %v", sizes, tc.sizes)
				}
				for i := range sizes {
					if sizes[i] != tc.sizes[i] {
						t.Fatalf("messages read: got %v; want %v", sizes, tc.sizes)
					}
				}
			})
		}
	}
}

func TestRTMPGuardAuthorized(t *testing.T) {
	t.Parallel()
	data := chunkStream(t, command(3, 100, 0), setChunkSize(60000), command(7, 1<<20, 0))
	g := newRTMPGuard(bytes.NewReader(data))
	g.authorized()
	if n, err := io.Copy(io.Discard, g); err != nil || n != int64(len(data)) {
		t.Errorf("authorized: read %d, %v; want all %d bytes", n, err, len(data))
	}
}

// FuzzRTMPGuard: whatever a client sends, the guard and the library behind it
// do not panic, and the library never reads a message over the budget.
func FuzzRTMPGuard(f *testing.F) {
	f.Add(chunkStream(f, command(3, 200, 0), setChunkSize(64), command(4, 300, 3*time.Hour)))
	f.Add(chunkStream(f, setChunkSize(1), command(3, 3, 0)))
	f.Add(chunkStream(f, command(3, 20, 0))[:3080])
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 {
			data[0] = 3 // past the version check, into the chunk parser
		}
		sizes, _ := readAll(data, false)
		for _, n := range sizes {
			if n > preAuthMessage {
				t.Fatalf("the library read a %d-byte message", n)
			}
		}
	})
}
