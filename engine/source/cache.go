package source

import (
	"container/list"
	"sync"

	"onair/library"
)

// Cache keeps the parsed headers of recently opened files (MPEG-TS: packet layout, PIDs and
// first parameter sets; MP4: the expanded sample tables), keyed by path, container, size and
// modification time, so that opening a file again costs an open and an fstat. A file replaced
// or rewritten gets a new key and is parsed again; its stale entry ages out.
//
// The entries form an LRU list bounded by count. One mutex guards the map and the list, held
// only for lookups and insertions; parsing happens outside it. A Cache is safe for concurrent
// use.
type Cache struct {
	max int

	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, most recently used first
	entries map[fileKey]*list.Element
}

type cacheEntry struct {
	key fileKey
	h   header
}

// NewCache returns a cache of at most maxEntries file headers (at least 1).
func NewCache(maxEntries int) *Cache {
	return &Cache{max: max(1, maxEntries), lru: list.New(), entries: map[fileKey]*list.Element{}}
}

// Open is like the package's Open, with the file's headers from the cache when the same
// version of the file was opened before.
func (c *Cache) Open(path, container string, kf library.KeyframeIndex) (Reader, error) {
	f, key, err := openFile(path, container)
	if err != nil {
		return nil, err
	}
	if h := c.get(key); h != nil {
		return h.newReader(f, kf), nil
	}
	h, err := parseHeader(f, container)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.put(key, h)
	return h.newReader(f, kf), nil
}

// Len returns the number of cached headers.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *Cache) get(key fileKey) header {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cacheEntry).h
}

func (c *Cache) put(key fileKey, h header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		// Parsed concurrently by another Open: keep the first.
		c.lru.MoveToFront(e)
		return
	}
	// Older versions of the same file are useless now.
	for k, e := range c.entries {
		if k.path == key.path && k.container == key.container {
			c.lru.Remove(e)
			delete(c.entries, k)
		}
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, h: h})
	for c.lru.Len() > c.max {
		e := c.lru.Back()
		c.lru.Remove(e)
		delete(c.entries, e.Value.(*cacheEntry).key)
	}
}
