//go:build !unix

package library

import "os"

// openMedia opens a file for reading.
func openMedia(path string) (*os.File, error) {
	return os.Open(path)
}
