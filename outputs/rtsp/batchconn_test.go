package rtsp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"
)

// gateConn counts its Writes, and holds the first one until gate closes
// (entered closes when it starts waiting).
type gateConn struct {
	net.Conn
	entered, gate chan struct{}
	writes        atomic.Int32
}

func newGateConn(c net.Conn) *gateConn {
	return &gateConn{Conn: c, entered: make(chan struct{}), gate: make(chan struct{})}
}

func (g *gateConn) Write(p []byte) (int, error) {
	if g.writes.Add(1) == 1 {
		close(g.entered)
		<-g.gate
	}
	return g.Conn.Write(p)
}

// holdFirst returns a send function for a batchPacketConn that holds its
// first call until gate closes (entered closes when it starts waiting) and
// passes every call, the first one too, to next.
func holdFirst(next func([]ipv4.Message) (int, error)) (send func([]ipv4.Message) (int, error), entered, gate chan struct{}) {
	entered, gate = make(chan struct{}), make(chan struct{})
	var once sync.Once
	send = func(ms []ipv4.Message) (int, error) {
		once.Do(func() {
			close(entered)
			<-gate
		})
		return next(ms)
	}
	return send, entered, gate
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	server, err = l.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

// frames returns n distinct small writes, like interleaved RTP packets.
func frames(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Repeat([]byte{byte(i)}, 100+i%300)
	}
	return out
}

// TestBatchConnGathersWrites: while one write is in the kernel, the writes
// behind it gather and go out in one call, in order and whole.
func TestBatchConnGathersWrites(t *testing.T) {
	server, client := tcpPair(t)
	g := newGateConn(server)
	b := newBatchConn(g)
	var want []byte
	for i, f := range frames(1000) {
		_ = b.SetWriteDeadline(time.Now().Add(10 * time.Second)) // as gortsplib does, each packet
		n, err := b.Write(f)
		require.NoError(t, err)
		require.Equal(t, len(f), n)
		want = append(want, f...)
		if i == 0 {
			<-g.entered // the first write is in the kernel; the rest gather
		}
	}
	close(g.gate)
	got := make([]byte, len(want))
	_, err := io.ReadFull(client, got)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.EqualValues(t, 2, g.writes.Load(), "the first write, then the 999 gathered behind it")
	require.NoError(t, b.Close())
}

// TestBatchConnCloseSendsTheRest: Close lets what is queued go out, then
// closes the connection, and later Writes fail.
func TestBatchConnCloseSendsTheRest(t *testing.T) {
	server, client := tcpPair(t)
	g := newGateConn(server)
	b := newBatchConn(g)
	var want []byte
	for _, f := range frames(50) {
		_, err := b.Write(f)
		require.NoError(t, err)
		want = append(want, f...)
	}
	require.NoError(t, b.Close())
	_, err := b.Write([]byte("late"))
	require.ErrorIs(t, err, net.ErrClosed)
	close(g.gate)
	got, err := io.ReadAll(client) // to EOF: the connection was closed
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// TestBatchConnStalledReaderFails: a peer that stops reading makes Write
// fail once the write deadline passes (gortsplib then drops the reader),
// rather than queueing without bound.
func TestBatchConnStalledReaderFails(t *testing.T) {
	server, _ := tcpPair(t) // the client end never reads
	b := newBatchConn(server)
	chunk := make([]byte, 64<<10)
	var err error
	written := 0
	for written < 1<<30 {
		_ = b.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err = b.Write(chunk); err != nil {
			break
		}
		written += len(chunk)
	}
	require.Error(t, err, "wrote %d bytes to a peer that reads nothing", written)
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
	require.LessOrEqual(t, written, 64<<20, "the queue is bounded")
	require.NoError(t, b.Close())
}

// TestBatchPacketConnGathersDatagrams: datagrams written while a batch is
// in the kernel go out together in the next sendmmsg, whole and in order;
// past the queue limit they are dropped, never blocking the writer.
func TestBatchPacketConnGathersDatagrams(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer recv.Close()
	require.NoError(t, recv.SetReadBuffer(4<<20))
	b := newBatchPacketConn(pc)
	var mu sync.Mutex
	var calls []int
	send, entered, gate := holdFirst(func(ms []ipv4.Message) (int, error) {
		mu.Lock()
		calls = append(calls, len(ms))
		mu.Unlock()
		return b.batch(ms)
	})
	b.send = send
	const n = 200
	for i := range n {
		_, err := b.WriteTo(bytes.Repeat([]byte{byte(i)}, 100+i), recv.LocalAddr())
		require.NoError(t, err)
		if i == 0 {
			<-entered // the first datagram is in the kernel; the rest queue
		}
	}
	close(gate)
	buf := make([]byte, 2000)
	for i := range n {
		require.NoError(t, recv.SetReadDeadline(time.Now().Add(5*time.Second)))
		k, _, err := recv.ReadFrom(buf)
		require.NoError(t, err)
		require.Equal(t, bytes.Repeat([]byte{byte(i)}, 100+i), buf[:k], "datagram %d", i)
	}
	require.NoError(t, b.Close())
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int{1, udpBatchMax, udpBatchMax, udpBatchMax, n - 1 - 3*udpBatchMax}, calls)
	_, err = b.WriteTo([]byte("late"), recv.LocalAddr())
	require.ErrorIs(t, err, net.ErrClosed)
}

// TestBatchPacketConnDropsPastTheLimit: a flusher that cannot send does not
// hold up the writers; what is past the queue limit is dropped.
func TestBatchPacketConnDropsPastTheLimit(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	b := newBatchPacketConn(pc)
	var entered, gate chan struct{}
	b.send, entered, gate = holdFirst(func(ms []ipv4.Message) (int, error) { return len(ms), nil })
	_, err = b.WriteTo([]byte("x"), pc.LocalAddr())
	require.NoError(t, err)
	<-entered
	for range udpQueueMax + 100 {
		_, err := b.WriteTo([]byte("x"), pc.LocalAddr())
		require.NoError(t, err)
	}
	b.mu.Lock()
	dropped := b.dropped
	b.mu.Unlock()
	require.Equal(t, 100, dropped)
	close(gate)
	require.NoError(t, b.Close())
}

// udpReceiver is a loopback UDP socket with a large receive buffer.
func udpReceiver(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	require.NoError(t, c.SetReadBuffer(4<<20))
	t.Cleanup(func() { c.Close() })
	return c
}

// readDatagrams reads n datagrams from c.
func readDatagrams(t *testing.T, c *net.UDPConn, n int) [][]byte {
	t.Helper()
	var out [][]byte
	buf := make([]byte, 65536)
	for range n {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		k, _, err := c.ReadFrom(buf)
		require.NoError(t, err, "after %d datagrams", len(out))
		out = append(out, bytes.Clone(buf[:k]))
	}
	return out
}

// TestBatchPacketConnSegmentationOffload: the fragments of a frame (equal
// sizes, a shorter last one) for two readers, interleaved as two gortsplib
// writers would queue them, go out as one offload message per reader and
// run, and each reader receives its own datagrams whole and in order.
func TestBatchPacketConnSegmentationOffload(t *testing.T) {
	if !gsoSupported {
		t.Skip("UDP segmentation offload is Linux only")
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	r1, r2 := udpReceiver(t), udpReceiver(t)
	b := newBatchPacketConn(pc)
	var mu sync.Mutex
	var segs []int // datagrams in each message sent after the first
	first := true
	send, entered, gate := holdFirst(func(ms []ipv4.Message) (int, error) {
		mu.Lock()
		if !first {
			for _, m := range ms {
				segs = append(segs, len(m.Buffers))
			}
		}
		first = false
		mu.Unlock()
		return b.batch(ms)
	})
	b.send = send
	dgram := func(reader, i, size int) []byte {
		d := bytes.Repeat([]byte{byte(reader*100 + i)}, size)
		binary.BigEndian.PutUint16(d, uint16(i))
		return d
	}
	_, err = b.WriteTo([]byte("first"), r1.LocalAddr())
	require.NoError(t, err)
	<-entered
	var want1, want2 [][]byte
	for i := range 70 { // 69 full fragments and a short one, for each reader
		size := 1462
		if i == 69 {
			size = 300
		}
		d1, d2 := dgram(1, i, size), dgram(2, i, size)
		_, err = b.WriteTo(d1, r1.LocalAddr())
		require.NoError(t, err)
		_, err = b.WriteTo(d2, r2.LocalAddr())
		require.NoError(t, err)
		want1, want2 = append(want1, d1), append(want2, d2)
	}
	close(gate)
	require.Equal(t, [][]byte{[]byte("first")}, readDatagrams(t, r1, 1))
	require.Equal(t, want1, readDatagrams(t, r1, 70))
	require.Equal(t, want2, readDatagrams(t, r2, 70))
	require.NoError(t, b.Close())
	mu.Lock()
	defer mu.Unlock()
	// Per reader: as many full datagrams as fit in one UDP payload (44),
	// then the other 25 and the short one in another message.
	full := udpGSOBytes / 1462
	require.Equal(t, []int{full, 70 - full, full, 70 - full}, segs)
	require.True(t, b.gso)
}

// TestBatchPacketConnWithoutOffload: when the kernel refuses an offload
// message, offload turns off and every datagram still goes, one a message.
func TestBatchPacketConnWithoutOffload(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	r := udpReceiver(t)
	b := newBatchPacketConn(pc)
	b.gso = true
	var refused atomic.Int32
	send, entered, gate := holdFirst(func(ms []ipv4.Message) (int, error) {
		for i, m := range ms {
			if len(m.OOB) > 0 {
				refused.Add(1)
				if i > 0 {
					if n, err := b.batch(ms[:i]); err != nil {
						return n, err
					}
				}
				return i, errors.New("sendmmsg: input/output error")
			}
		}
		return b.batch(ms)
	})
	b.send = send
	_, err = b.WriteTo([]byte("first"), r.LocalAddr())
	require.NoError(t, err)
	<-entered
	var want [][]byte
	for i := range 20 {
		d := bytes.Repeat([]byte{byte(i)}, 1000)
		_, err = b.WriteTo(d, r.LocalAddr())
		require.NoError(t, err)
		want = append(want, d)
	}
	close(gate)
	require.Equal(t, append([][]byte{[]byte("first")}, want...), readDatagrams(t, r, 21))
	require.NoError(t, b.Close())
	require.EqualValues(t, 1, refused.Load())
	require.False(t, b.gso)
}
