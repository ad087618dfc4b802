package engine

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Manager owns the channels of a server and the goroutine that keeps their
// logs extended. One RWMutex guards the channel map.
type Manager struct {
	deps ChannelDeps

	mu    sync.RWMutex
	chans map[string]*Channel

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewManager returns a manager with no channels.
func NewManager(deps ChannelDeps) *Manager {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{deps: deps, chans: map[string]*Channel{}, ctx: ctx, cancel: cancel}
}

// Open opens a channel and adds it, replacing one with the same id.
func (m *Manager) Open(ctx context.Context, cfg ChannelConfig) (*Channel, error) {
	c, err := OpenChannel(ctx, cfg, m.deps)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.chans[cfg.ID] = c
	m.mu.Unlock()
	return c, nil
}

// Remove drops a channel (its log stays in the store).
func (m *Manager) Remove(id string) {
	m.mu.Lock()
	delete(m.chans, id)
	m.mu.Unlock()
}

// Get returns a channel by id.
func (m *Manager) Get(id string) (*Channel, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.chans[id]
	return c, ok
}

// List returns the channels sorted by id.
func (m *Manager) List() []*Channel {
	m.mu.RLock()
	out := make([]*Channel, 0, len(m.chans))
	for _, c := range m.chans {
		out = append(out, c)
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// Start runs Maintain on every channel each interval (on the manager's clock)
// until Close.
func (m *Manager) Start(interval time.Duration) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := m.deps.Clock.NewTimer(interval)
		defer t.Stop()
		for {
			select {
			case <-m.ctx.Done():
				return
			case <-t.C():
				m.MaintainAll(m.ctx)
				t.Reset(interval)
			}
		}
	}()
}

// MaintainAll extends every channel's log as needed.
func (m *Manager) MaintainAll(ctx context.Context) {
	for _, c := range m.List() {
		if ctx.Err() != nil {
			return
		}
		if err := c.Maintain(ctx); err != nil {
			m.deps.Logger.Error("maintaining channel", "channel", c.ID(), "err", err)
		}
	}
}

// Close stops the maintenance goroutine and waits for it.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
}
