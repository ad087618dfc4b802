package main

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"onair/internal/metrics"
	"onair/library"
)

// libraryWatcher scans the library at start and again after changes: a file
// event starts a rescan once the tree has been quiet for settle; a full rescan
// also runs every interval, for roots on file systems without notifications.
type libraryWatcher struct {
	store     *library.Store
	roots     []string
	log       *slog.Logger
	now       func() time.Time
	onScanned func(error)
	// metrics, when set, records each scan.
	metrics *metrics.Metrics
}

const (
	settle   = 2 * time.Second
	interval = 10 * time.Minute
)

func (w *libraryWatcher) run(ctx context.Context) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		w.log.Warn("library watch unavailable; rescanning every "+interval.String(), "err", err)
	} else {
		defer fw.Close()
		w.addDirs(fw)
	}
	w.scan(ctx)

	var events chan fsnotify.Event
	var errs chan error
	if fw != nil {
		events, errs = fw.Events, fw.Errors
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var quiet *time.Timer
	var quietC <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if quiet != nil {
				quiet.Stop()
			}
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					w.addTree(fw, ev.Name)
				}
			}
			if quiet == nil {
				quiet = time.NewTimer(settle)
			} else {
				quiet.Reset(settle)
			}
			quietC = quiet.C
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.log.Warn("library watch", "err", err)
		case <-quietC:
			quietC = nil
			w.scan(ctx)
		case <-tick.C:
			w.addDirs(fw)
			w.scan(ctx)
		}
	}
}

func (w *libraryWatcher) addDirs(fw *fsnotify.Watcher) {
	if fw == nil {
		return
	}
	for _, r := range w.roots {
		w.addTree(fw, r)
	}
}

func (w *libraryWatcher) addTree(fw *fsnotify.Watcher, root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // an unreadable folder is reported by the scan, not here
		}
		if d.IsDir() {
			if err := fw.Add(p); err != nil {
				w.log.Debug("watch", "dir", p, "err", err)
			}
		}
		return nil
	})
}

func (w *libraryWatcher) scan(ctx context.Context) {
	start := w.now()
	sum, err := w.store.Scan(ctx, w.roots, nil)
	if ctx.Err() != nil {
		return
	}
	if w.metrics != nil {
		w.metrics.ObserveScan(metrics.ScanSummary{
			Seen: sum.FilesSeen, Added: sum.Added, Updated: sum.Updated, Moved: sum.Moved, Missing: sum.Missing, Problems: len(sum.Problems),
		}, w.now().Sub(start), err)
	}
	if err != nil {
		w.log.Error("library scan failed", "err", err)
		w.onScanned(err)
		return
	}
	w.log.Info("library scanned", "files", sum.FilesSeen, "added", sum.Added, "updated", sum.Updated,
		"moved", sum.Moved, "missing", sum.Missing, "problems", len(sum.Problems),
		"elapsed", w.now().Sub(start).Round(time.Millisecond))
	for _, p := range sum.Problems {
		w.log.Warn("unplayable", "path", p.Path, "reason", strings.Join(p.Reasons, "; "))
	}
	w.onScanned(nil)
}
