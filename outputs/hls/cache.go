package hls

import (
	"container/list"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"sync"
	"time"
)

// segKey names one segment of one channel.
type segKey struct {
	channel string
	seq     int64
}

// segment is a generated segment: its bytes and their strong ETag.
type segment struct {
	data []byte
	etag string
	// made is when the segment was generated (zero when unknown).
	made time.Time
}

// crcTable is CRC-32C, which the CPU computes (SSE 4.2, ARMv8 CRC) at many GB/s.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// newSegment wraps data with its ETag: the length and CRC-32C of the bytes,
// so identical bytes have the identical tag on every origin and after every
// restart. It is a validator against accidental change, not a cryptographic
// digest (a SHA-256 of every segment cost a quarter of the CPU of a loaded
// server).
func newSegment(data []byte) *segment {
	var b [12]byte
	binary.BigEndian.PutUint64(b[0:], uint64(len(data)))
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(data, crcTable))
	return &segment{data: data, etag: `"` + hex.EncodeToString(b[:]) + `"`}
}

// flight is one generation of a segment; every request for the segment
// waits on done, then reads seg or err.
type flight struct {
	done chan struct{}
	seg  *segment
	err  error
}

// segmentCache is a least-recently-used cache of segments within a byte
// budget, plus the generations in flight, so that concurrent requests for a
// missing segment share one generation. One mutex guards it, held only for
// map and list operations; it starts no goroutine.
type segmentCache struct {
	budget int64 // in bytes of segment data; <= 0 stores nothing

	mu        sync.Mutex
	used      int64
	lru       list.List // of *cacheEntry, most recently used first
	entries   map[segKey]*list.Element
	flights   map[segKey]*flight
	evictions uint64
	// evictedMade is the newest generation time of a segment evicted so far:
	// when it is recent, the cache turns over faster than segments are used.
	evictedMade time.Time
}

type cacheEntry struct {
	key segKey
	seg *segment
}

func newSegmentCache(budget int64) *segmentCache {
	return &segmentCache{
		budget:  budget,
		entries: make(map[segKey]*list.Element),
		flights: make(map[segKey]*flight),
	}
}

// acquire returns the cached segment of key; or else the flight generating
// it, leader reporting whether the caller has just created that flight and
// must run it and then call finish.
func (c *segmentCache) acquire(key segKey) (seg *segment, f *flight, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cacheEntry).seg, nil, false
	}
	if running, ok := c.flights[key]; ok {
		return nil, running, false
	}
	f = &flight{done: make(chan struct{})}
	c.flights[key] = f
	return nil, f, true
}

// finish ends the flight of key with its result, storing a generated segment,
// and wakes its waiters.
func (c *segmentCache) finish(key segKey, f *flight, seg *segment, err error) {
	f.seg, f.err = seg, err
	c.mu.Lock()
	delete(c.flights, key)
	if err == nil {
		c.store(key, seg)
	}
	c.mu.Unlock()
	close(f.done)
}

// store adds seg, evicting the least recently used segments to stay within
// the budget. A segment larger than the whole budget is not stored.
// c.mu is held.
func (c *segmentCache) store(key segKey, seg *segment) {
	size := int64(len(seg.data))
	if size > c.budget {
		return
	}
	if el, ok := c.entries[key]; ok {
		c.used -= int64(len(el.Value.(*cacheEntry).seg.data))
		c.lru.Remove(el)
		delete(c.entries, key)
	}
	for c.used+size > c.budget {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.used -= int64(len(e.seg.data))
		c.evictions++
		if e.seg.made.After(c.evictedMade) {
			c.evictedMade = e.seg.made
		}
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, seg: seg})
	c.used += size
}

// churning reports whether a segment generated less than life before now has
// been evicted: then a segment generated ahead of its requests may well be
// gone before they come.
func (c *segmentCache) churning(now time.Time, life time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.evictedMade.IsZero() && now.Sub(c.evictedMade) < life
}

// has reports whether key is cached or being generated, without touching its
// recency.
func (c *segmentCache) has(key segKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, cached := c.entries[key]
	_, flying := c.flights[key]
	return cached || flying
}

// usage returns the bytes and entries held and the evictions so far.
func (c *segmentCache) usage() (used int64, entries int, evictions uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, len(c.entries), c.evictions
}
