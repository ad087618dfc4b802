package source

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"onair/library"
	"onair/testmedia"
)

// damage is a way to break a clip's bytes; kf is the clip's index.
type damage struct {
	name string
	mp4  bool
	// apply returns the damaged bytes.
	apply func(data []byte, kf library.KeyframeIndex) []byte
	// openErr is the error Open must return (nil: Open succeeds); rangeErr the error at least
	// one range must return.
	openErr, rangeErr error
}

var damages = []damage{
	{
		name: "ts truncated mid-packet",
		apply: func(b []byte, _ library.KeyframeIndex) []byte {
			return b[:len(b)*6/10/188*188+100]
		},
		rangeErr: ErrTruncated,
	},
	{
		name: "ts truncated at a packet boundary",
		apply: func(b []byte, _ library.KeyframeIndex) []byte {
			return b[:len(b)/2/188*188]
		},
		rangeErr: ErrTruncated,
	},
	{
		name: "ts garbage in the middle",
		apply: func(b []byte, kf library.KeyframeIndex) []byte {
			b = bytes.Clone(b)
			copy(b[min(len(b), int(kf.Keyframes[2].Offset)+1000):], bytes.Repeat([]byte{0xa5}, 4096))
			return b
		},
		rangeErr: ErrCorrupt,
	},
	{
		name: "ts payload garbage in a keyframe",
		apply: func(b []byte, kf library.KeyframeIndex) []byte {
			// Keep the packet headers: the PES header itself is destroyed.
			b = bytes.Clone(b)
			off := kf.Keyframes[len(kf.Keyframes)/2].Offset
			copy(b[off+4:off+188], bytes.Repeat([]byte{0xff}, 184))
			return b
		},
		rangeErr: ErrCorrupt,
	},
	{
		name: "ts lost packets",
		apply: func(b []byte, kf library.KeyframeIndex) []byte {
			off := kf.Keyframes[len(kf.Keyframes)/2].Offset + 10*188
			return append(bytes.Clone(b[:off]), b[off+3*188:]...)
		},
		rangeErr: ErrCorrupt,
	},
	{
		name: "ts zeroed head",
		apply: func(b []byte, _ library.KeyframeIndex) []byte {
			b = bytes.Clone(b)
			clear(b[:min(len(b), 64<<10)])
			return b
		},
		openErr: ErrUnsupported,
	},
	{
		name:    "ts empty",
		apply:   func([]byte, library.KeyframeIndex) []byte { return nil },
		openErr: ErrTruncated,
	},
	{
		name: "ts shifted by a byte",
		apply: func(b []byte, _ library.KeyframeIndex) []byte {
			return append([]byte{0}, b...)
		},
		openErr: ErrUnsupported,
	},
	{
		name: "mp4 truncated",
		mp4:  true,
		apply: func(b []byte, _ library.KeyframeIndex) []byte {
			return b[:len(b)*6/10]
		},
		openErr: ErrTruncated,
	},
	{
		name: "mp4 garbage in a keyframe",
		mp4:  true,
		apply: func(b []byte, kf library.KeyframeIndex) []byte {
			b = bytes.Clone(b)
			copy(b[kf.Keyframes[len(kf.Keyframes)/2].Offset:], bytes.Repeat([]byte{0xff}, 64))
			return b
		},
		rangeErr: ErrCorrupt,
	},
	{
		name: "mp4 garbage in moov",
		mp4:  true,
		apply: func(b []byte, _ library.KeyframeIndex) []byte {
			b = bytes.Clone(b)
			i := bytes.Index(b, []byte("stsz"))
			copy(b[i-4:], bytes.Repeat([]byte{0xff}, 32))
			return b
		},
		openErr: ErrCorrupt,
	},
	{
		name:    "mp4 empty",
		mp4:     true,
		apply:   func([]byte, library.KeyframeIndex) []byte { return nil },
		openErr: ErrTruncated,
	},
}

func badInputClip(t testing.TB, mp4 bool) *clip {
	o := testmedia.Options{Width: 320, Height: 180, Duration: 9 * time.Second, Seed: 5, Label: "BAD"}
	if mp4 {
		return genClip(t, "bad.mp4", o)
	}
	return genClip(t, "bad.ts", o)
}

func TestBadInput(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			c := badInputClip(t, d.mp4)
			data, err := os.ReadFile(c.path)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), filepath.Base(c.path))
			if err := os.WriteFile(path, d.apply(data, c.kf), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open(path, c.container, c.kf)
			if d.openErr != nil {
				checkErr(t, err, d.openErr, path)
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer r.Close()
			var errs []error
			for i, k := range c.kf.Keyframes {
				to := endOfFile
				if i+1 < len(c.kf.Keyframes) {
					to = c.kf.Keyframes[i+1].PTS
				}
				if _, _, err := r.Range(context.Background(), k.PTS, to); err != nil {
					errs = append(errs, err)
					if i == 0 {
						t.Errorf("range 0 fails: %v", err)
					}
				}
			}
			if len(errs) == 0 {
				t.Fatal("no range failed")
			}
			checkErr(t, errs[0], d.rangeErr, path)
		})
	}
}

// checkErr checks that err wraps want and names the file.
func checkErr(t *testing.T, err, want error, path string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Errorf("error %q does not wrap %q", err, want)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	t.Log(err)
}

func TestIndexMismatch(t *testing.T) {
	for _, mp4 := range []bool{false, true} {
		c := badInputClip(t, mp4)
		other := genClip(t, "other"+filepath.Ext(c.path), testmedia.Options{
			Width: 640, Height: 360, Duration: 9 * time.Second,
			Seed: 6, Label: "OTHER FILE",
		})
		t.Run(c.container, func(t *testing.T) {
			r, err := Open(c.path, c.container, other.kf)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ks := other.kf.Keyframes
			_, _, err = r.Range(context.Background(), ks[2].PTS, ks[3].PTS)
			checkErr(t, err, ErrIndexMismatch, c.path)
		})
	}
}

func TestOpenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.ts")
	_, err := Open(path, containerTS, library.KeyframeIndex{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v", err)
	}
	_, err = NewCache(1).Open(path, containerTS, library.KeyframeIndex{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v", err)
	}
	c := badInputClip(t, false)
	if _, err := Open(c.path, "mkv", c.kf); !errors.Is(err, ErrUnsupported) {
		t.Errorf("error %v", err)
	}
}

func TestCacheDeleted(t *testing.T) {
	c := badInputClip(t, false)
	path := filepath.Join(t.TempDir(), "x.ts")
	copyFile(t, c.path, path)
	cache := NewCache(4)
	r, err := cache.Open(path, c.container, c.kf)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = cache.Open(path, c.container, c.kf)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open after delete: %v", err)
	}
}

func TestCacheReplaced(t *testing.T) {
	for _, ext := range []string{".ts", ".mp4"} {
		t.Run(ext, func(t *testing.T) {
			a := genClip(t, "replaceA"+ext, testmedia.Options{Width: 320, Height: 180, Duration: 6 * time.Second, Seed: 7, Label: "A"})
			b := genClip(t, "replaceB"+ext, testmedia.Options{Width: 640, Height: 360, Duration: 8 * time.Second, Seed: 8, Label: "B"})
			// The same size and content type but other bytes, rewritten in place.
			b2 := genClip(t, "replaceB2"+ext, testmedia.Options{Width: 640, Height: 360, Duration: 8 * time.Second, Seed: 9, Label: "C"})
			path := filepath.Join(t.TempDir(), "item"+ext)
			cache := NewCache(4)

			copyFile(t, a.path, path)
			readFirst(t, cache, path, a)

			// Replaced by rename.
			tmp := path + ".tmp"
			copyFile(t, b.path, tmp)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
			touchLater(t, path, time.Second)
			got := readFirst(t, cache, path, b)
			if want := readFirstUncached(t, path, b); !reflect.DeepEqual(got, want) {
				t.Error("replaced file: the cache returns other frames than a fresh open")
			}
			if info := mustInfo(t, cache, path, b); info.Width != 640 {
				t.Errorf("replaced file: width %d from a stale header", info.Width)
			}

			// Rewritten in place.
			data, err := os.ReadFile(b2.path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			touchLater(t, path, 2*time.Second)
			got = readFirst(t, cache, path, b2)
			if want := readFirstUncached(t, path, b2); !reflect.DeepEqual(got, want) {
				t.Error("rewritten file: the cache returns other frames than a fresh open")
			}
			if n := cache.Len(); n != 1 {
				t.Errorf("%d cache entries for one file", n)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFirst(t *testing.T, cache *Cache, path string, c *clip) [2][]Frame {
	t.Helper()
	r, err := cache.Open(path, c.container, c.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, a, err := r.Range(context.Background(), c.kf.Keyframes[1].PTS, c.kf.Keyframes[2].PTS)
	if err != nil {
		t.Fatal(err)
	}
	return [2][]Frame{v, a}
}

func readFirstUncached(t *testing.T, path string, c *clip) [2][]Frame {
	t.Helper()
	r, err := Open(path, c.container, c.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, a, err := r.Range(context.Background(), c.kf.Keyframes[1].PTS, c.kf.Keyframes[2].PTS)
	if err != nil {
		t.Fatal(err)
	}
	return [2][]Frame{v, a}
}

func mustInfo(t *testing.T, cache *Cache, path string, c *clip) Info {
	t.Helper()
	r, err := cache.Open(path, c.container, c.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Info()
}

func TestCacheBounded(t *testing.T) {
	cache := NewCache(2)
	var cs []*clip
	for _, mp4 := range []bool{false, true} {
		cs = append(cs, badInputClip(t, mp4))
	}
	cs = append(cs, genClip(t, "gen25.ts", testmedia.Options{Width: 320, Height: 180, Duration: 9 * time.Second, Seed: 1, Label: "TS"}))
	for _, c := range cs {
		r, err := cache.Open(c.path, c.container, c.kf)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	if n := cache.Len(); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
}

// TestConcurrent reads ranges of the same files from many goroutines through one cache.
func TestConcurrent(t *testing.T) {
	cs := []*clip{badInputClip(t, false), badInputClip(t, true)}
	cache := NewCache(1) // evictions race with hits
	want := make([][]rangeResult, len(cs))
	for i, c := range cs {
		r, err := Open(c.path, c.container, c.kf)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = readConsecutive(t, r, c.kf)
		r.Close()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 20 {
				ci := (g + n) % len(cs)
				c := cs[ci]
				r, err := cache.Open(c.path, c.container, c.kf)
				if err != nil {
					t.Error(err)
					return
				}
				k := (g*7 + n) % len(want[ci])
				w := want[ci][k]
				v, a, err := r.Range(context.Background(), w.from, w.to)
				r.Close()
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(v, w.video) || !reflect.DeepEqual(a, w.audio) {
					t.Errorf("clip %d range %d differs", ci, k)
				}
			}
		}()
	}
	wg.Wait()
}
