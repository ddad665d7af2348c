package codec

import (
	"errors"
	"fmt"
)

// MPEG-4 audio object types this package handles.
const (
	aotMain = 1
	aotLC   = 2
	aotLTP  = 4
	aotSBR  = 5  // HE-AAC
	aotPS   = 29 // HE-AAC v2
)

// aacRates is the MPEG-4 samplingFrequencyIndex table (indexes 13 and 14 are
// reserved; 15 means an explicit 24-bit rate follows).
var aacRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// aacRateIndex returns the samplingFrequencyIndex of rate, or -1.
func aacRateIndex(rate int) int {
	for i, r := range aacRates {
		if r == rate {
			return i
		}
	}
	return -1
}

// ascInfo is what NewAACDecoder needs from an AudioSpecificConfig.
type ascInfo struct {
	objectType int // after unwrapping explicit SBR/PS signalling
	sampleRate int // of the decoded PCM (the SBR rate when SBR is signalled)
	channels   int // of the decoded PCM
	sbr, ps    bool
}

type bitReader struct {
	b   []byte
	pos int // in bits
}

var errShort = errors.New("truncated")

func (r *bitReader) left() int { return len(r.b)*8 - r.pos }

func (r *bitReader) read(n int) (int, error) {
	if n > r.left() {
		return 0, errShort
	}
	v := 0
	for range n {
		v = v<<1 | int(r.b[r.pos>>3]>>(7-r.pos&7)&1)
		r.pos++
	}
	return v, nil
}

func (r *bitReader) peek(n int) (int, error) {
	save := r.pos
	v, err := r.read(n)
	r.pos = save
	return v, err
}

func readObjectType(r *bitReader) (int, error) {
	aot, err := r.read(5)
	if err != nil {
		return 0, err
	}
	if aot == 31 {
		ext, err := r.read(6)
		if err != nil {
			return 0, err
		}
		aot = 32 + ext
	}
	return aot, nil
}

func readRate(r *bitReader) (int, error) {
	idx, err := r.read(4)
	if err != nil {
		return 0, err
	}
	switch {
	case idx == 15:
		return r.read(24)
	case idx < len(aacRates):
		return aacRates[idx], nil
	default:
		return 0, fmt.Errorf("reserved sampling frequency index %d", idx)
	}
}

// parseASC reads an AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) far enough
// to know the object type, output rate and channel count, and rejects what
// this package does not handle: object types other than AAC Main, LC, LTP
// and HE-AAC (v1/v2) over LC, channel configurations other than mono and
// stereo, and rates outside 7350..96000 Hz.
func parseASC(asc []byte) (ascInfo, error) {
	var info ascInfo
	if len(asc) < 2 {
		return info, fmt.Errorf("%d bytes, need at least 2", len(asc))
	}
	r := &bitReader{b: asc}
	aot, err := readObjectType(r)
	if err != nil {
		return info, err
	}
	rate, err := readRate(r)
	if err != nil {
		return info, err
	}
	chanCfg, err := r.read(4)
	if err != nil {
		return info, err
	}
	if aot == aotSBR || aot == aotPS {
		info.sbr = true
		info.ps = aot == aotPS
		if rate, err = readRate(r); err != nil {
			return info, err
		}
		if aot, err = readObjectType(r); err != nil {
			return info, err
		}
		if aot != aotLC {
			return info, fmt.Errorf("HE-AAC over object type %d, only over AAC-LC (2) is supported", aot)
		}
	}
	switch aot {
	case aotMain, aotLC, aotLTP:
	default:
		return info, fmt.Errorf("unsupported audio object type %d (want 1 Main, 2 LC, 4 LTP, 5 HE-AAC or 29 HE-AAC v2)", aot)
	}
	if rate < 7350 || rate > 96000 {
		return info, fmt.Errorf("sampling rate %d Hz out of range", rate)
	}
	if chanCfg != 1 && chanCfg != 2 {
		return info, fmt.Errorf("unsupported channel configuration %d (only 1 mono and 2 stereo)", chanCfg)
	}
	// GASpecificConfig.
	if _, err := r.read(1); err != nil { // frameLengthFlag
		return info, err
	}
	dependsOnCore, err := r.read(1)
	if err != nil {
		return info, err
	}
	if dependsOnCore == 1 {
		if _, err := r.read(14); err != nil { // coreCoderDelay
			return info, err
		}
	}
	if _, err := r.read(1); err != nil { // extensionFlag (0 for these object types)
		return info, err
	}
	// Backward-compatible explicit SBR/PS signalling after the config.
	if !info.sbr && r.left() >= 16 {
		if sync, _ := r.peek(11); sync == 0x2b7 {
			r.pos += 11
			extAOT, err := readObjectType(r)
			if err == nil && extAOT == aotSBR {
				if present, err := r.read(1); err == nil && present == 1 {
					extRate, err := readRate(r)
					if err != nil {
						return info, fmt.Errorf("SBR extension: %v", err)
					}
					info.sbr = true
					rate = extRate
					if r.left() >= 12 {
						if sync, _ := r.peek(11); sync == 0x548 {
							r.pos += 11
							if ps, err := r.read(1); err == nil && ps == 1 {
								info.ps = true
							}
						}
					}
				}
			}
		}
	}
	if rate < 7350 || rate > 96000 {
		return info, fmt.Errorf("SBR sampling rate %d Hz out of range", rate)
	}
	info.objectType = aot
	info.sampleRate = rate
	info.channels = chanCfg
	if info.ps {
		info.channels = 2 // parametric stereo decodes a mono core to stereo
	}
	return info, nil
}
