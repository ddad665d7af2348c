//go:build !linux

package udpbatch

import "errors"

func (b *batch) segmented() uint64 { return 0 }

func noChecksums(*Conn) error { return errors.ErrUnsupported }
