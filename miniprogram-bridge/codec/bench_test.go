package codec

import (
	"testing"
)

// reportRealTime adds the core-%/stream metric: the share of one CPU core
// that one stream needs to run in real time, given audioNs of audio per op.
func reportRealTime(b *testing.B, audioNs float64) {
	b.Helper()
	nsPerOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(nsPerOp/audioNs*100, "core-%/stream")
}

// BenchmarkAACToOpus: one 1024-sample 44.1 kHz stereo AAC access unit
// decoded, resampled to 48 kHz and fed to a 64 kb/s stereo Opus encoder.
func BenchmarkAACToOpus(b *testing.B) {
	enc := mustAACEncoder(b, 44100, 2, 128000)
	aus := encodeAAC(b, enc, sine(44100, 2, 2, toneHz), 2)
	enc.Close()
	dec, err := NewAACDecoder(enc.Config())
	if err != nil {
		b.Fatalf("NewAACDecoder: %v", err)
	}
	defer dec.Close()
	rs, err := NewResampler(44100, 2, 48000, 2)
	if err != nil {
		b.Fatalf("NewResampler: %v", err)
	}
	defer rs.Close()
	oe, err := NewOpusEncoder(2, 64000)
	if err != nil {
		b.Fatalf("NewOpusEncoder: %v", err)
	}
	defer oe.Close()

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pcm, err := dec.Decode(aus[i%len(aus)])
		if err != nil {
			b.Fatalf("Decode: %v", err)
		}
		pcm48, err := rs.Convert(pcm)
		if err != nil {
			b.Fatalf("Convert: %v", err)
		}
		if _, err := oe.Encode(pcm48); err != nil {
			b.Fatalf("Encode: %v", err)
		}
	}
	reportRealTime(b, 1024/44100.0*1e9)
}

// BenchmarkOpusToAAC: one 20 ms 48 kHz stereo Opus packet decoded and fed to
// a 128 kb/s 48 kHz stereo AAC-LC encoder.
func BenchmarkOpusToAAC(b *testing.B) {
	oe, err := NewOpusEncoder(2, 64000)
	if err != nil {
		b.Fatalf("NewOpusEncoder: %v", err)
	}
	pkts := encodeOpus(b, oe, sine(48000, 2, 2, toneHz), 2)
	oe.Close()
	od, err := NewOpusDecoder(2)
	if err != nil {
		b.Fatalf("NewOpusDecoder: %v", err)
	}
	defer od.Close()
	ae := mustAACEncoder(b, 48000, 2, 128000)
	defer ae.Close()

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pcm, err := od.Decode(pkts[i%len(pkts)])
		if err != nil {
			b.Fatalf("Decode: %v", err)
		}
		if _, err := ae.Encode(pcm); err != nil {
			b.Fatalf("Encode: %v", err)
		}
	}
	reportRealTime(b, 0.020*1e9)
}
