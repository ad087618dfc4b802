package rtsp

import (
	"net"
	"sync"
	"time"
)

// gortsplib writes each interleaved RTP packet to a TCP reader's connection
// with its own Write call (and its own SetWriteDeadline): about 450 system
// calls a second per reader at 5 Mbit/s. The connections of the RTSP
// listener are wrapped in a batchConn, which gathers the writes made while
// the previous one was in the kernel and hands them over in one call. A
// burst of packets (a session batch is a quarter second of media) then
// costs a few system calls instead of one per packet; a write to an idle
// connection still goes out at once, so nothing waits for a timer.

// batchLimit is how many bytes a batchConn holds before Write waits for the
// kernel to take them (a slow reader then backs up into gortsplib's write
// queue, which drops its packets, as it would without batching).
const batchLimit = 1 << 20

// batchKeep is the largest buffer a batchConn keeps for the next burst. A
// reader costs about two bursts of memory (the burst being sent, the one
// gathering): some 160 KB each at 5 Mbit/s and the sessions' 250 ms pace.
const batchKeep = 512 << 10

// closeFlushTimeout bounds how long a closed connection keeps trying to
// send what it still holds (the reply to a TEARDOWN, say).
const closeFlushTimeout = time.Second

// batchListener wraps the connections a net.Listener accepts in batchConns.
type batchListener struct{ net.Listener }

func (l batchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newBatchConn(c), nil
}

// listenBatched is a gortsplib.Server Listen function.
func listenBatched(network, address string) (net.Listener, error) {
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return batchListener{l}, nil
}

// batchConn is a net.Conn whose writes one goroutine (the flusher) sends.
// Reads go straight to the connection. mu guards every field below it;
// cond wakes the flusher when there is something to send and wakes writers
// waiting for room.
type batchConn struct {
	net.Conn

	mu       sync.Mutex
	cond     sync.Cond
	pending  []byte    // written, not yet handed to the kernel
	spare    []byte    // the flusher's last buffer, for reuse
	deadline time.Time // the write deadline to apply to the next flush
	idle     bool      // the flusher waits on cond
	writing  bool      // the flusher is in a Write of the connection
	err      error     // the first write error; every later Write returns it
	closed   bool
}

func newBatchConn(c net.Conn) *batchConn {
	b := &batchConn{Conn: c}
	b.cond.L = &b.mu
	go b.flush()
	return b
}

// Write queues p. It returns at once unless batchLimit bytes are already
// queued; then it waits for room or for the connection to fail.
func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && !b.closed && len(b.pending) >= batchLimit {
		b.cond.Wait()
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.closed {
		return 0, net.ErrClosed
	}
	b.pending = append(b.pending, p...)
	if b.idle {
		b.idle = false
		b.cond.Broadcast()
	}
	return len(p), nil
}

// SetWriteDeadline records t; the flusher applies it to its next write, so
// a reader that stops reading fails its Writes within the deadline.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	b.deadline = t
	b.mu.Unlock()
	return nil
}

// SetDeadline sets the read deadline now and the write deadline as
// SetWriteDeadline does.
func (b *batchConn) SetDeadline(t time.Time) error {
	_ = b.SetWriteDeadline(t)
	return b.SetReadDeadline(t)
}

// Close stops the connection. What is still queued gets up to
// closeFlushTimeout to go out before the connection closes; Reads blocked
// in other goroutines return then at the latest.
func (b *batchConn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	if b.err != nil { // the flusher has closed the connection
		b.cond.Broadcast()
		b.mu.Unlock()
		return nil //nolint:nilerr // the write error went to Write's callers; closing succeeded
	}
	empty := len(b.pending) == 0 && !b.writing
	if !empty {
		dl := time.Now().Add(closeFlushTimeout) //nolint:forbidigo // a socket deadline is wall-clock time
		if b.deadline.IsZero() || b.deadline.After(dl) {
			b.deadline = dl
		}
		if b.writing { // bound the write in flight too
			_ = b.Conn.SetWriteDeadline(b.deadline)
		}
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	if empty {
		return b.Conn.Close()
	}
	return nil // the flusher closes the connection once it has sent the rest
}

// flush is the flusher: it sends whatever has been queued, one write for
// all of it, until the connection closes or fails.
func (b *batchConn) flush() {
	var applied time.Time
	b.mu.Lock()
	for {
		for len(b.pending) == 0 && !b.closed && b.err == nil {
			b.idle = true
			b.cond.Wait()
		}
		b.idle = false
		if b.err != nil || len(b.pending) == 0 { // failed, or closed with nothing left
			// After a failure the connection is closed here (the reader
			// of gortsplib then sees it); after Close with nothing
			// queued, Close has closed it.
			failed := b.err != nil
			b.mu.Unlock()
			if failed {
				b.Conn.Close()
			}
			return
		}
		buf, dl := b.pending, b.deadline
		b.pending = b.spare[:0]
		b.writing = true
		b.mu.Unlock()

		if !dl.Equal(applied) {
			_ = b.Conn.SetWriteDeadline(dl)
			applied = dl
		}
		_, err := b.Conn.Write(buf)

		b.mu.Lock()
		b.writing = false
		if cap(buf) <= batchKeep {
			b.spare = buf[:0]
		} else {
			b.spare = nil // after a burst larger than usual (keyframes of a high rate)
		}
		if err != nil && b.err == nil {
			b.err = err
		}
		b.cond.Broadcast() // room for waiting writers
		if b.closed && (len(b.pending) == 0 || b.err != nil) {
			b.mu.Unlock()
			b.Conn.Close()
			return
		}
	}
}
