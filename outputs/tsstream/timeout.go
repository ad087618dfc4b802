package tsstream

import (
	"errors"
	"os"
)

var errDeadline = os.ErrDeadlineExceeded

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
