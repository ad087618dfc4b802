package rtsp

import (
	"net"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

// gortsplib sends each RTP packet to a UDP reader with its own WriteTo: one
// system call a packet. The RTP and RTCP sockets of the server are wrapped
// in a batchPacketConn, which queues the packets written while the last
// batch was in the kernel and sends them with sendmmsg (up to
// udpBatchMax at a call).

// udpBatchMax is the most packets one sendmmsg call carries.
const udpBatchMax = 64

// udpQueueMax is the most packets a batchPacketConn holds; past it a packet
// is dropped, as a full socket buffer would drop it.
const udpQueueMax = 8192

// listenPacketBatched is a gortsplib.Server ListenPacket function.
func listenPacketBatched(network, address string) (net.PacketConn, error) {
	pc, err := net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	u, ok := pc.(*net.UDPConn)
	if !ok {
		return pc, nil
	}
	return newBatchPacketConn(u), nil
}

// batchPacketConn is a UDP socket whose writes one goroutine (the flusher)
// sends in batches. Reads and the socket options go straight to the
// socket. mu guards the fields below it.
type batchPacketConn struct {
	*net.UDPConn
	// send sends a batch and returns how many went (sendmmsg through
	// ipv4.PacketConn: IPv4 and IPv6 destinations alike on Linux).
	send func([]ipv4.Message) (int, error)

	mu      sync.Mutex
	cond    sync.Cond
	queue   []ipv4.Message // written, not yet sent; each Buffers[0] in data
	data    []byte
	spareQ  []ipv4.Message
	spareD  []byte
	idle    bool
	closed  bool
	dropped int
}

func newBatchPacketConn(u *net.UDPConn) *batchPacketConn {
	pc := ipv4.NewPacketConn(u)
	b := &batchPacketConn{UDPConn: u, send: func(ms []ipv4.Message) (int, error) { return pc.WriteBatch(ms, 0) }}
	b.cond.L = &b.mu
	go b.flush()
	return b
}

// WriteTo queues a copy of p for addr and returns at once.
func (b *batchPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return 0, net.ErrClosed
	}
	if len(b.queue) >= udpQueueMax {
		b.dropped++
		b.mu.Unlock()
		return len(p), nil
	}
	o := len(b.data)
	b.data = append(b.data, p...)
	if n := len(b.queue); n < cap(b.queue) {
		b.queue = b.queue[:n+1]
	} else {
		b.queue = append(b.queue, ipv4.Message{Buffers: make([][]byte, 1)})
	}
	m := &b.queue[len(b.queue)-1]
	if m.Buffers == nil { // capacity append made but never used
		m.Buffers = make([][]byte, 1)
	}
	m.Buffers[0] = b.data[o:len(b.data):len(b.data)]
	m.Addr = addr
	if b.idle {
		b.idle = false
		b.cond.Signal()
	}
	b.mu.Unlock()
	return len(p), nil
}

// SetWriteDeadline is a no-op: the flusher's sends do not block for long
// (a UDP socket drops what it cannot send).
func (b *batchPacketConn) SetWriteDeadline(time.Time) error { return nil }

// Close stops the flusher and closes the socket; what is queued is dropped.
func (b *batchPacketConn) Close() error {
	b.mu.Lock()
	b.closed = true
	b.cond.Signal()
	b.mu.Unlock()
	return b.UDPConn.Close()
}

func (b *batchPacketConn) flush() {
	b.mu.Lock()
	for {
		for len(b.queue) == 0 && !b.closed {
			b.idle = true
			b.cond.Wait()
		}
		b.idle = false
		if b.closed {
			b.mu.Unlock()
			return
		}
		msgs, data := b.queue, b.data
		b.queue, b.data = b.spareQ[:0], b.spareD[:0]
		b.mu.Unlock()

		sent := msgs
		for len(msgs) > 0 {
			n, err := b.send(msgs[:min(len(msgs), udpBatchMax)])
			if err != nil {
				// The first message could not be sent (a destination that
				// refuses it, say): skip it, as a lost datagram.
				n = max(n, 1)
			}
			msgs = msgs[n:]
		}

		b.mu.Lock()
		b.spareQ, b.spareD = sent[:0], data[:0]
	}
}
