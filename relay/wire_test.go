package relay

import (
	"testing"
)

func TestRecords(t *testing.T) {
	rec := func(n uint16, layer int, pkt []byte) []byte {
		b := make([]byte, mediaHeader+len(pkt))
		putMediaHeader(b, n, layer, len(pkt))
		copy(b[mediaHeader:], pkt)
		return b
	}
	type got struct {
		n     uint16
		layer int
		pkt   string
	}
	tests := []struct {
		name    string
		frame   []byte
		want    []got
		wantErr bool
	}{
		{name: "one", frame: rec(7, 2, []byte("abc")), want: []got{{7, 2, "abc"}}},
		{name: "a burst", frame: append(rec(1, 0, []byte("x")), rec(65535, 1, []byte("yz"))...), want: []got{{1, 0, "x"}, {65535, 1, "yz"}}},
		{name: "empty packet", frame: rec(3, 0, nil), want: []got{{3, 0, ""}}},
		{name: "short header", frame: []byte{0, 3, 0}, wantErr: true},
		{name: "length past the end", frame: []byte{0, 9, 0, 1, 0, 'a'}, wantErr: true},
		{name: "length inside the header", frame: []byte{0, 1, 0, 1, 0}, wantErr: true},
		{name: "a good record, then a cut one", frame: append(rec(1, 0, []byte("x")), 0, 7), want: []got{{1, 0, "x"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []got
			var err error
			for rest := tt.frame; len(rest) > 0; {
				var n uint16
				var layer int
				var pkt []byte
				if n, layer, pkt, rest, err = nextRecord(rest); err != nil {
					break
				}
				out = append(out, got{n, layer, string(pkt)})
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("error: got %v; want error %v", err, tt.wantErr)
			}
			if len(out) != len(tt.want) {
				t.Fatalf("records: got %v; want %v", out, tt.want)
			}
			for i := range out {
				if out[i] != tt.want[i] {
					t.Errorf("record %d: got %v; want %v", i, out[i], tt.want[i])
				}
			}
		})
	}
}
