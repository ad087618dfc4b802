//go:build !linux

package rtsp

// gsoControl is Linux only; elsewhere every datagram is its own message.
func gsoControl(int) []byte { return nil }

const gsoSupported = false
