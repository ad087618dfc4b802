//go:build unix

package library

import (
	"os"
	"syscall"
)

// openMedia opens a file for reading without blocking on a FIFO or device that slipped past
// the walk's regular-file check.
func openMedia(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
