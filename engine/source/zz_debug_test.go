package source

import (
	"math/rand"
	"testing"
	"time"
	"os"
)

func TestZZHang(t *testing.T) {
	c, data := fuzzClip(t, false)
	rng := rand.New(rand.NewSource(1))
	for it := 0; it < 3000; it++ {
		b := append([]byte(nil), data...)
		n := 1 + rng.Intn(8)
		for k := 0; k < n; k++ {
			b[rng.Intn(len(b))] = byte(rng.Intn(256))
		}
		if rng.Intn(4) == 0 {
			b = b[:rng.Intn(len(b))]
		}
		done := make(chan struct{})
		start := time.Now()
		go func() { fuzzRanges(t, b, containerTS, c.kf); close(done) }()
		select {
		case <-done:
			if d := time.Since(start); d > 200*time.Millisecond {
				t.Logf("slow %d: %v", it, d)
			}
		case <-time.After(5 * time.Second):
			os.WriteFile("/tmp/hang.ts", b, 0o644)
			t.Fatalf("hang at %d", it)
		}
	}
}
