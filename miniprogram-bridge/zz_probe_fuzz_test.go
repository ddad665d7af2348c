package bridge

import (
	"testing"
	"time"
)

func FuzzZZProbe(f *testing.F) {
	f.Add(chunkStream(f, command(3, 200, 0), setChunkSize(64), command(4, 300, 3*time.Hour)))
	f.Add(chunkStream(f, setChunkSize(1), command(3, 3, 0)))
	f.Add(chunkStream(f, command(3, 20, 0))[:3080])
	f.Fuzz(func(t *testing.T, data []byte) {
		tm := time.AfterFunc(2*time.Second, func() { panic("hang") })
		defer tm.Stop()
		if len(data) > 0 {
			data[0] = 3
		}
		readAll(data, false)
	})
}
