package rtsp

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gsoControl returns the control message that asks the kernel to cut one
// send into datagrams of size bytes each, the last one shorter (UDP generic
// segmentation offload, Linux 4.18): one trip through the UDP and IP layers
// for up to udpGSOMax datagrams of one reader.
func gsoControl(size int) []byte {
	b := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
	return b
}

const gsoSupported = true
