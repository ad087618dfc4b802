package rtsp

import (
	"net"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

// gortsplib sends each RTP packet to a UDP reader with its own WriteTo: one
// system call a packet. The RTP and RTCP sockets of the server are wrapped
// in a batchPacketConn, which queues the packets written while the last
// batch was in the kernel and sends them with sendmmsg (up to
// udpBatchMax messages at a call). On Linux a run of equal-sized packets
// to one reader (the FU-A fragments of a frame) is one message with UDP
// segmentation offload: the kernel cuts it into the datagrams, so the run
// makes one trip through the UDP and IP layers instead of one a packet.

// udpBatchMax is the most packets one sendmmsg call carries.
const udpBatchMax = 64

// udpGSOMax and udpGSOBytes bound a segmentation offload message: the
// kernel takes up to 64 segments, and a UDP payload is under 64 KiB.
const (
	udpGSOMax   = 64
	udpGSOBytes = 65000
)

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
	// batch sends messages with sendmmsg (through ipv4.PacketConn: IPv4
	// and IPv6 destinations alike on Linux) and returns how many went; send
	// is what the flusher calls: batch, unless a test stands in.
	batch, send func([]ipv4.Message) (int, error)

	mu      sync.Mutex
	cond    sync.Cond
	queue   []ipv4.Message // written, not yet sent; each Buffers[0] in data
	data    []byte
	spareQ  []ipv4.Message
	spareD  []byte
	idle    bool
	closed  bool
	dropped int

	// The flusher's own: whether to use segmentation offload (it turns off
	// for good when the kernel refuses it), and what pack reuses.
	gso     bool
	rank    map[net.Addr]int
	order   []int
	packed  []ipv4.Message
	control map[int][]byte
}

func newBatchPacketConn(u *net.UDPConn) *batchPacketConn {
	pc := ipv4.NewPacketConn(u)
	b := &batchPacketConn{
		UDPConn: u, batch: func(ms []ipv4.Message) (int, error) { return pc.WriteBatch(ms, 0) },
		gso: gsoSupported, rank: map[net.Addr]int{}, control: map[int][]byte{},
	}
	b.send = b.batch
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

		b.sendAll(msgs)

		b.mu.Lock()
		b.spareQ, b.spareD = msgs[:0], data[:0]
	}
}

// sendAll sends msgs (one datagram each), packed for segmentation offload
// when it is on. A datagram the kernel refuses (a destination that is gone,
// say) is skipped, as a lost datagram; an offload message it refuses turns
// offload off and goes again as single datagrams.
func (b *batchPacketConn) sendAll(msgs []ipv4.Message) {
	out := msgs
	if b.gso {
		out = b.pack(msgs)
	}
	for len(out) > 0 {
		n, err := b.send(out[:min(len(out), udpBatchMax)])
		out = out[n:]
		if err == nil || len(out) == 0 {
			continue
		}
		if len(out[0].OOB) > 0 { // the kernel does not take offload
			b.gso = false
			var rest []ipv4.Message
			for _, m := range out {
				for _, d := range m.Buffers {
					rest = append(rest, ipv4.Message{Buffers: [][]byte{d}, Addr: m.Addr})
				}
			}
			out = rest
			continue
		}
		out = out[1:]
	}
}

// pack groups msgs by destination (keeping each destination's order) and
// turns each run of datagrams of one size to one destination (the last may
// be shorter) into one message with a UDP_SEGMENT control message; its
// datagrams stay where they are, as the message's buffers.
func (b *batchPacketConn) pack(msgs []ipv4.Message) []ipv4.Message {
	clear(b.rank)
	b.order = b.order[:0]
	for i := range msgs {
		if _, ok := b.rank[msgs[i].Addr]; !ok {
			b.rank[msgs[i].Addr] = len(b.rank)
		}
		b.order = append(b.order, i)
	}
	if len(b.rank) > 1 {
		slices.SortStableFunc(b.order, func(x, y int) int {
			return b.rank[msgs[x].Addr] - b.rank[msgs[y].Addr]
		})
	}
	out := b.packed[:0]
	for k := 0; k < len(b.order); {
		first := &msgs[b.order[k]]
		size := len(first.Buffers[0])
		j, total := k+1, size
		for j < len(b.order) && j-k < udpGSOMax {
			m := &msgs[b.order[j]]
			l := len(m.Buffers[0])
			if m.Addr != first.Addr || l > size || l == 0 || total+l > udpGSOBytes {
				break
			}
			total += l
			j++
			if l < size {
				break // a shorter datagram ends the run
			}
		}
		if len(out) < cap(out) {
			out = out[:len(out)+1]
		} else {
			out = append(out, ipv4.Message{})
		}
		m := &out[len(out)-1]
		m.Addr, m.Buffers, m.OOB = first.Addr, m.Buffers[:0], nil
		for _, i := range b.order[k:j] {
			m.Buffers = append(m.Buffers, msgs[i].Buffers[0])
		}
		if j-k > 1 {
			c, ok := b.control[size]
			if !ok {
				c = gsoControl(size)
				b.control[size] = c
			}
			m.OOB = c
		}
		k = j
	}
	b.packed = out
	return out
}
