package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"onair/library"
)

// LibraryStore is what LibraryAssets needs of the library.
type LibraryStore interface {
	Get(ctx context.Context, id int64) (library.Asset, error)
	Keyframes(ctx context.Context, id int64) (library.KeyframeIndex, error)
	// Generation changes whenever a scan may have changed an asset.
	Generation() int64
}

// LibraryAssets adapts the library to Assets, caching what it looked up for as
// long as the library's scan generation stays the same, so rendering a segment
// costs no database query. One mutex guards the cache.
type LibraryAssets struct {
	Store LibraryStore

	mu    sync.Mutex
	gen   int64
	cache map[int64]cachedAsset
}

type cachedAsset struct {
	asset Asset
	err   error // ErrUnplayable for a missing or unplayable asset
}

// maxCachedAssets bounds the cache; past it, the cache is cleared.
const maxCachedAssets = 4096

// Asset implements Assets. An asset that is missing or unplayable in the
// library is an ErrUnplayable error; its metadata is still returned so the
// slate can match the stream.
func (l *LibraryAssets) Asset(ctx context.Context, id int64) (Asset, error) {
	gen := l.Store.Generation()
	l.mu.Lock()
	if l.gen != gen || len(l.cache) >= maxCachedAssets {
		l.cache, l.gen = nil, gen
	}
	if c, ok := l.cache[id]; ok {
		l.mu.Unlock()
		return c.asset, c.err
	}
	l.mu.Unlock()
	a, err := l.lookup(ctx, id)
	if err == nil || errors.Is(err, ErrUnplayable) {
		l.mu.Lock()
		if l.gen == gen {
			if l.cache == nil {
				l.cache = map[int64]cachedAsset{}
			}
			l.cache[id] = cachedAsset{asset: a, err: err}
		}
		l.mu.Unlock()
	}
	return a, err
}

// lookup reads an asset and its keyframe index from the library.
func (l *LibraryAssets) lookup(ctx context.Context, id int64) (Asset, error) {
	la, err := l.Store.Get(ctx, id)
	if err != nil {
		if errors.Is(err, library.ErrNotFound) {
			return Asset{}, fmt.Errorf("asset %d: %w: not in the library", id, ErrUnplayable)
		}
		return Asset{}, err
	}

	a := Asset{ID: la.ID, Path: la.Path, Container: la.Container, Duration: DurationToTicks(la.Duration), Params: ParamsKey(la)}
	if la.Video != nil {
		a.Width, a.Height = la.Video.Width, la.Video.Height
		a.FrameRateNum, a.FrameRateDen = la.Video.FrameRate.Num, la.Video.FrameRate.Den
	}
	if la.Duration > 0 {
		a.Bitrate = int64(float64(la.Size*8) / la.Duration.Seconds())
	}
	if la.Status != library.StatusOK {
		return a, fmt.Errorf("%s: %w: %s %s", la.Path, ErrUnplayable, la.Status, la.Reason)
	}
	idx, err := l.Store.Keyframes(ctx, id)
	if err != nil {
		return a, err
	}
	a.Index = idx
	a.Keyframes = make([]int64, len(idx.Keyframes))
	for i, k := range idx.Keyframes {
		a.Keyframes[i] = k.PTS - idx.StartPTS
	}
	if len(a.Keyframes) == 0 || a.Keyframes[0] != 0 {
		return a, fmt.Errorf("%s: %w: the first picture is not a keyframe", la.Path, ErrUnplayable)
	}
	return a, nil
}

// paramsPicture reads the picture size and frame rate back from a ParamsKey;
// zeros when it does not hold them.
func paramsPicture(key string) (w, h, num, den int) {
	parts := strings.Split(strings.SplitN(key, "|", 2)[0], "/")
	if len(parts) < 6 {
		return 0, 0, 0, 0
	}
	if _, err := fmt.Sscanf(parts[3], "%dx%d", &w, &h); err != nil {
		return 0, 0, 0, 0
	}
	num, _ = strconv.Atoi(parts[4])
	den, _ = strconv.Atoi(parts[5])
	return w, h, num, den
}

// ParamsKey is the stream-parameter key of an asset: a change of it between
// items is a discontinuity.
func ParamsKey(a library.Asset) string {
	key := "novideo"
	if v := a.Video; v != nil {
		key = fmt.Sprintf("%s/%s/%s/%dx%d/%s/b%t", v.Codec, v.Profile, v.Level, v.Width, v.Height, v.FrameRate, v.BFrames)
	}
	if au := a.Audio; au != nil {
		key += fmt.Sprintf("|%s/%d/%d", au.Codec, au.SampleRate, au.Channels)
	} else {
		key += "|noaudio"
	}
	return key
}

var _ Assets = (*LibraryAssets)(nil)
