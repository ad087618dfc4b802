package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestVirtualClockFiresInOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewVirtualClock(t0)
	a := c.NewTimer(3 * time.Second)
	b := c.NewTimer(1 * time.Second)
	d := c.NewTimer(1 * time.Second) // same deadline as b: fires after it
	stopped := c.NewTimer(2 * time.Second)
	require.True(t, stopped.Stop())
	require.False(t, stopped.Stop())
	require.Equal(t, 3, c.Pending())

	c.Advance(500 * time.Millisecond)
	select {
	case <-b.C():
		t.Fatal("fired early")
	default:
	}
	c.Advance(2 * time.Second)
	require.Equal(t, t0.Add(time.Second), <-b.C())
	require.Equal(t, t0.Add(time.Second), <-d.C())
	select {
	case <-a.C():
		t.Fatal("a fired before its deadline")
	case <-stopped.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	require.Equal(t, t0.Add(2500*time.Millisecond), c.Now())
	c.Advance(time.Hour)
	require.Equal(t, t0.Add(3*time.Second), <-a.C())
	require.Equal(t, 0, c.Pending())

	require.False(t, a.Reset(time.Minute))
	require.True(t, a.Reset(2*time.Minute))
	c.Advance(2 * time.Minute)
	require.Equal(t, t0.Add(2500*time.Millisecond+time.Hour+2*time.Minute), <-a.C())
}

func TestVirtualClockSetBack(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewVirtualClock(t0)
	tm := c.NewTimer(time.Minute)
	c.Set(t0.Add(-time.Hour))
	require.Equal(t, t0.Add(-time.Hour), c.Now())
	select {
	case <-tm.C():
		t.Fatal("fired when the clock went back")
	default:
	}
	c.Set(t0.Add(time.Minute))
	<-tm.C()
}

func TestRealClock(t *testing.T) {
	var c Clock = RealClock{}
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	require.False(t, c.Now().IsZero())
}
