package testmedia

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Asset is one media file of the sample library.
type Asset struct {
	// Path relative to the library root, with forward slashes.
	Path string
	// Kind is "episode", "movie", "ad", "bumper", "promo" or "slate".
	Kind string
	// Options the file was generated with (Container set).
	Options Options
	// Cues are the ad-break points of an episode, on keyframes; also written
	// to the sidecar NAME.cue.yaml beside the file (NAME without extension).
	Cues []time.Duration
}

// Summary reports what WriteSampleLibrary did.
type Summary struct {
	// Files is the number of files in the library: media files and cue sidecars.
	Files int
	// Bytes is their total size.
	Bytes int64
	// Written counts the files written by this call, Unchanged those that
	// already held exactly the right bytes and were left alone.
	Written, Unchanged int
}

// Sample library shape: every asset is 640x360, 25 fps, with a 2 s GOP.
const (
	libraryWidth  = 640
	libraryHeight = 360
	libraryFPS    = 25
	libraryGOP    = 2 * libraryFPS
	libraryYear   = 2026
)

type libraryShow struct {
	name      string
	container string
	titles    [4]string
	seconds   [4]int
}

var libraryShows = []libraryShow{
	{"Harbor Lights", ContainerTS, [4]string{"The Lighthouse", "Fog Warning", "Low Tide", "Homecoming"}, [4]int{138, 147, 162, 175}},
	{"The Test Kitchen", ContainerMP4, [4]string{"Bread", "Stock", "Pastry", "Feast"}, [4]int{136, 171, 143, 158}},
	{"Signal Hill", ContainerTS, [4]string{"Pilot", "Static", "Crossed Wires", "Clear Channel"}, [4]int{144, 151, 166, 179}},
}

var libraryAds = []struct {
	name    string
	seconds int
}{
	{"acme-coffee-30s", 30},
	{"bluebird-air-15s", 15},
	{"citrus-soda-15s", 15},
	{"delta-bank-30s", 30},
	{"evergreen-tea-15s", 15},
	{"foxglove-phones-30s", 30},
}

var libraryBumpers = []string{"up-next", "back-soon", "station-id"}

var libraryPromos = []struct {
	name    string
	seconds int
}{
	{"promo-harbor-lights", 20},
	{"promo-signal-hill", 30},
}

const (
	libraryMovieTitle = "The Long Broadcast"
	libraryMovieLen   = 10 * time.Minute
	librarySlateLen   = 10 * time.Second
	libraryBumperLen  = 5 * time.Second
	// SlateLabel is the text on the slate.
	SlateLabel = "PLEASE STAND BY"
)

// SampleLibrary lists the assets of the sample library, in the order
// WriteSampleLibrary writes them. Every asset has its own background colour
// and marker tone.
//
// Layout:
//
//	shows/<Show>/Season 01/<Show> - S01E0N - <Title>.ts (one show uses .mp4)
//	shows/<Show>/Season 01/<Show> - S01E0N - <Title>.cue.yaml
//	movies/<Title> (2026).mp4
//	ads/<name>.ts, bumpers/<name>.ts, promos/<name>.mp4, slates/slate.ts
func SampleLibrary() []Asset {
	var assets []Asset
	add := func(path, kind, label string, d time.Duration, opts func(*Options)) {
		i := len(assets)
		bg := paletteColor(i)
		o := Options{
			Width:        libraryWidth,
			Height:       libraryHeight,
			FrameRateNum: libraryFPS,
			FrameRateDen: 1,
			GOPFrames:    libraryGOP,
			Duration:     d,
			Container:    containerFromPath(path),
			Seed:         int64(i + 1),
			Label:        label,
			Background:   &bg,
		}
		if opts != nil {
			opts(&o)
		}
		assets = append(assets, Asset{Path: path, Kind: kind, Options: o})
	}

	for _, s := range libraryShows {
		for e, title := range s.titles {
			name := fmt.Sprintf("%s - S01E%02d - %s", s.name, e+1, title)
			path := fmt.Sprintf("shows/%s/Season 01/%s.%s", s.name, name, s.container)
			d := time.Duration(s.seconds[e]) * time.Second
			add(path, "episode", fmt.Sprintf("%s S01E%02d", s.name, e+1), d, nil)
			assets[len(assets)-1].Cues = episodeCues(d)
		}
	}
	add(fmt.Sprintf("movies/%s (%d).mp4", libraryMovieTitle, libraryYear), "movie", libraryMovieTitle, libraryMovieLen, nil)
	for _, a := range libraryAds {
		add("ads/"+a.name+".ts", "ad", strings.ToUpper(a.name), time.Duration(a.seconds)*time.Second, nil)
	}
	for _, b := range libraryBumpers {
		add("bumpers/"+b+".ts", "bumper", strings.ToUpper(b), libraryBumperLen, nil)
	}
	for _, p := range libraryPromos {
		add("promos/"+p.name+".mp4", "promo", strings.ToUpper(p.name), time.Duration(p.seconds)*time.Second, nil)
	}
	add("slates/slate.ts", "slate", SlateLabel, librarySlateLen, func(o *Options) {
		grey := SlateGrey
		o.Background = &grey
		o.Silent = true
	})
	return assets
}

// episodeCues returns the whole minutes inside an episode at least 10 s before
// its end. With a 2 s GOP every whole minute is a keyframe.
func episodeCues(d time.Duration) []time.Duration {
	var cues []time.Duration
	for c := time.Minute; c <= d-10*time.Second; c += time.Minute {
		cues = append(cues, c)
	}
	return cues
}

// CueSidecar returns the contents of an episode's NAME.cue.yaml.
func CueSidecar(cues []time.Duration) []byte {
	parts := make([]string, len(cues))
	for i, c := range cues {
		parts[i] = c.String()
	}
	return []byte("cues: [" + strings.Join(parts, ", ") + "]\n")
}

// CueSidecarPath returns the sidecar path of a media file: the name without
// its extension, plus ".cue.yaml".
func CueSidecarPath(mediaPath string) string {
	return strings.TrimSuffix(mediaPath, filepath.Ext(mediaPath)) + ".cue.yaml"
}

// WriteSampleLibrary writes the sample library (see SampleLibrary) under dir.
// progress, if not nil, is called after each file, in SampleLibrary order,
// with the number of files done, the total and the file's path.
//
// Every file is generated in memory (several at a time, one per CPU); a file
// that already exists with exactly those bytes is left untouched (so its
// modification time does not change and a library watcher sees nothing), any
// other is written atomically. Running it twice therefore gives identical
// files, and the second run writes nothing. Files in dir that are not part of
// the library are left alone.
func WriteSampleLibrary(dir string, progress func(done, total int, path string)) (Summary, error) {
	assets := SampleLibrary()
	total := len(assets)
	for _, a := range assets {
		if a.Cues != nil {
			total++
		}
	}
	var sum Summary
	put := func(rel string, data []byte) error {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		written, err := putFile(path, data)
		if err != nil {
			return err
		}
		sum.Files++
		sum.Bytes += int64(len(data))
		if written {
			sum.Written++
		} else {
			sum.Unchanged++
		}
		if progress != nil {
			progress(sum.Files, total, path)
		}
		return nil
	}

	g := generateAll(assets, runtime.GOMAXPROCS(0))
	defer g.stop()
	for i, a := range assets {
		data, err := g.result(i)
		if err != nil {
			return sum, fmt.Errorf("%s: %w", a.Path, err)
		}
		if err = put(a.Path, data); err != nil {
			return sum, err
		}
		if a.Cues != nil {
			if err = put(CueSidecarPath(a.Path), CueSidecar(a.Cues)); err != nil {
				return sum, err
			}
		}
	}
	return sum, nil
}

// generator generates assets in the background, at most workers at a time,
// handing the results out in order. It owns its goroutines: stop ends them
// and waits for them.
type generator struct {
	results []chan generated
	slots   chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

type generated struct {
	data []byte
	err  error
}

func generateAll(assets []Asset, workers int) *generator {
	g := &generator{
		results: make([]chan generated, len(assets)),
		slots:   make(chan struct{}, max(1, workers)),
		done:    make(chan struct{}),
	}
	for i := range g.results {
		g.results[i] = make(chan generated, 1)
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for i, a := range assets {
			select {
			case g.slots <- struct{}{}:
			case <-g.done:
				return
			}
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				var buf bytes.Buffer
				err := Generate(&buf, a.Options)
				g.results[i] <- generated{buf.Bytes(), err}
			}()
		}
	}()
	return g
}

// result waits for asset i, which must be asked for in order, and frees its
// slot for the next asset.
func (g *generator) result(i int) ([]byte, error) {
	r := <-g.results[i]
	<-g.slots
	return r.data, r.err
}

func (g *generator) stop() {
	close(g.done)
	g.wg.Wait()
}

// putFile makes path hold data, writing only when it does not already.
// It reports whether it wrote.
func putFile(path string, data []byte) (bool, error) {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, data):
		return false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	if err = os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	err = writeAtomic(path, func(w io.Writer) error {
		_, werr := w.Write(data)
		return werr
	})
	return err == nil, err
}
