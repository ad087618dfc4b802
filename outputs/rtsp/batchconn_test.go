package rtsp

import (
	"bytes"
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
	send := b.send
	entered, gate := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var calls []int
	b.send = func(ms []ipv4.Message) (int, error) {
		mu.Lock()
		first := len(calls) == 0
		calls = append(calls, len(ms))
		mu.Unlock()
		if first {
			close(entered)
			<-gate
		}
		return send(ms)
	}
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
	entered, gate := make(chan struct{}), make(chan struct{})
	b.send = func(ms []ipv4.Message) (int, error) {
		select {
		case <-entered:
		default:
			close(entered)
		}
		<-gate
		return len(ms), nil
	}
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
