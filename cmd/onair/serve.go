package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"onair/api"
	"onair/engine"
	"onair/engine/source"
	"onair/internal/sqlitedb"
	"onair/library"
	"onair/outputs/cmaf"
	"onair/outputs/dash"
	"onair/outputs/hls"
	"onair/scheduler"
)

type serveOpts struct{ common }

func serveCommand() *command {
	return &command{
		name:    "serve",
		usage:   "onair serve [--http ADDR] [--data DIR] [--library DIR]... [--channels DIR] [--admin-token T]\n      [--rtsp ADDR] [--rtsp-udp PORT] [--webrtc-udp PORT]",
		summary: "run the server (scans the library at start, then watches it)",
		help: `The server answers /healthz at once and /readyz once the library has been
scanned. GET /api/v1/library lists the assets as JSON (?kind=episode, ?status=ok).
SIGINT or SIGTERM stops it gracefully: requests in flight finish, the database
is closed cleanly.`,
		flags: func(e env) (*flag.FlagSet, any) {
			o := &serveOpts{}
			return newFlagSet("serve", e, &o.common, "http", "data", "library", "channels", "admin-token", "rtsp", "rtsp-udp", "webrtc-udp", "tuners", "guide-hours"), o
		},
		run: runServe,
	}
}

func runServe(ctx context.Context, e env, fs *flag.FlagSet, opts any) error {
	o := opts.(*serveOpts)
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	ops := opsFrom(ctx, e)
	log := ops.log
	clock := engine.RealClock{}

	store, err := openStore(o.data, e)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			log.Error("closing the library database", "err", cerr)
		}
	}()
	db, err := sqlitedb.Open(filepath.Join(o.data, "onair.db"))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			log.Error("closing the database", "err", cerr)
		}
	}()
	logStore, err := engine.OpenLog(ctx, db, clock.Now())
	if err != nil {
		return err
	}
	mgr := engine.NewManager(engine.ChannelDeps{
		Store: logStore, Assets: &engine.LibraryAssets{Store: store}, Sources: source.NewCache(256), Clock: clock, Logger: log,
	})
	defer mgr.Close()
	hlsReg := &hls.EngineRegistry{M: mgr, Clock: clock}
	cmafOut := cmaf.New(cmaf.Config{HLS: hls.Config{NewTimer: hls.TimerFunc(clock.NewTimer), Logger: log}, Logger: log}, &cmaf.EngineRegistry{HLS: hlsReg}, clock)
	defer cmafOut.Close()
	dashOut := dash.New(dash.Config{Logger: log}, cmafOut, clock)
	hlsOut := hls.New(hls.Config{NewTimer: hls.TimerFunc(clock.NewTimer), Logger: log, ExtraVariants: cmafOut.Variants, Observer: ops.metrics}, hlsReg, clock)
	defer hlsOut.Close()

	push, err := startPushOutputs(o.common, mgr, clock, log)
	if err != nil {
		return err
	}
	defer push.close()

	www, err := newSite(o.common, mgr, store, clock, log)
	if err != nil {
		return err
	}
	viewers := map[string]func(id string) int{"hls": hlsOut.Viewers, "cmaf": cmafOut.Viewers, "dash": dashOut.Viewers}
	push.addViewers(viewers)
	srvViewers := func(id string) map[string]int {
		m := make(map[string]int, len(viewers))
		for k, f := range viewers {
			m[k] = f(id)
		}
		return m
	}
	srv := api.New(api.Config{
		Library: store, Channels: mgr, Clock: clock, Logger: log, AdminToken: o.admin,
		Routes:  append([]func(*http.ServeMux){hlsOut.Register, cmafOut.Register, dashOut.Register, push.ts.Register, push.whep.Register}, www.routes()...),
		Viewers: srvViewers,
		Outputs: push.outputs,
	})
	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.http, err)
	}
	ops.watch(mgr, hlsOut, srvViewers, clock)
	hs := &http.Server{Handler: www.handler(ops.handler(srv, o.admin)), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	base := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(e.stdout, "onair %s serving on %s\n", version, base)
	fmt.Fprintf(e.stdout, "  health     %s/healthz\n", base)
	fmt.Fprintf(e.stdout, "  readiness  %s/readyz\n", base)
	fmt.Fprintf(e.stdout, "  library    %s/api/v1/library\n", base)
	fmt.Fprintf(e.stdout, "  channels   %s/api/v1/channels\n", base)
	fmt.Fprintf(e.stdout, "  web app    %s/\n", base)
	fmt.Fprintf(e.stdout, "  IPTV       %s/iptv/channels.m3u  %s/iptv/xmltv.xml  HDHomeRun %s\n", base, base, base)
	push.describe(e.stdout, base)

	st := &station{dir: o.channels, store: store, mgr: mgr, log: log, clock: clock}
	first := true
	watchCtx, cancelWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		w := &libraryWatcher{
			store: store, roots: o.library.values, log: log, now: e.now, metrics: ops.metrics,
			onScanned: func(err error) {
				if err != nil {
					srv.SetReady(false, "library scan failed: "+err.Error())
					return
				}
				st.load(watchCtx)
				if first {
					first = false
					for _, c := range mgr.List() {
						cfg := c.Config()
						fmt.Fprintf(e.stdout, "  channel %-4s %-20s %s/channels/%s/master.m3u8\n", cfg.Number, cfg.Name, base, cfg.ID)
					}
					mgr.Start(time.Minute)
				}
				srv.SetReady(true, "")
			},
		}
		w.run(watchCtx)
	}()
	chanDone := make(chan struct{})
	go func() {
		defer close(chanDone)
		st.watch(watchCtx)
	}()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	}
	cancelWatch()
	<-watchDone
	<-chanDone
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("http shutdown", "err", err)
	}
	return runErr
}

// station loads channels.d into the engine: each valid channel file becomes a
// channel with a planner over the current library; a broken file is reported
// and leaves the other channels playing.
type station struct {
	mu     sync.Mutex // one load at a time
	loaded bool       // the first load happened (after the first library scan)
	dir    string
	store  *library.Store
	mgr    *engine.Manager
	log    *slog.Logger
	clock  engine.Clock
	// overrides maps a channel to the override file it applied (its text).
	overrides map[string]string
}

// sameChannel reports whether two configurations differ only in their planner.
func sameChannel(a, b engine.ChannelConfig) bool {
	return a.Number == b.Number && a.Name == b.Name && a.Group == b.Group && a.Logo == b.Logo &&
		a.Segmenting.Target == b.Segmenting.Target
}

func (s *station) load(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = true
	chans, errs := scheduler.LoadDir(s.dir)
	keep := map[string]bool{}
	for _, e := range errs {
		s.log.Error("channel file", "err", e.Error())
		// A broken file leaves its channel on its last good version.
		if id := strings.TrimSuffix(filepath.Base(e.File), ".yaml"); e.File != "" && !strings.HasSuffix(e.File, ".override.yaml") {
			if _, ok := s.mgr.Get(id); ok {
				keep[id] = true
			}
		}
	}
	snap, err := scheduler.Snapshot(ctx, s.store)
	if err != nil {
		s.log.Error("listing the library", "err", err)
		return
	}
	for _, ch := range chans {
		p := snap.Planner(ch)
		cfg := engine.ChannelConfig{
			ID: ch.ID, Number: ch.Number, Name: ch.Name, Group: ch.Group, Logo: ch.Logo, Planner: p, Version: ch.Version(),
			Segmenting: engine.Segmenting{Target: engine.DurationToTicks(ch.TargetDuration())},
		}
		old, existed := s.mgr.Get(ch.ID)
		if existed && sameChannel(old.Config(), cfg) {
			// Same channel: keep it (its status and memory) with a planner over
			// the current library; a changed playlist rebuilds the log after
			// what clients may have seen.
			if old.Config().Version == cfg.Version {
				old.SetPlanner(p)
			} else if rerr := old.Replan(ctx, p, cfg.Version); rerr != nil {
				s.log.Error("rebuilding the playout log", "channel", ch.ID, "err", rerr)
			} else {
				s.log.Info("channel file changed: playout log rebuilt after the published mark", "channel", ch.ID)
			}
			keep[ch.ID] = true
			continue
		}
		c, err := s.mgr.Open(ctx, cfg)
		if err != nil {
			s.log.Error("channel cannot start", "channel", ch.ID, "err", err)
			continue
		}
		if existed && old.Config().Version != cfg.Version {
			if rerr := c.Replan(ctx, p, cfg.Version); rerr != nil {
				s.log.Error("rebuilding the playout log", "channel", ch.ID, "err", rerr)
			}
		}
		keep[ch.ID] = true
	}
	for _, c := range s.mgr.List() {
		if !keep[c.ID()] {
			s.mgr.Remove(c.ID())
		}
	}
	for id := range keep {
		s.applyOverrideFile(ctx, id)
	}
}

// applyOverrideFile starts the override of channels.d/<id>.override.yaml
// when the file is new or changed, and clears it when the file is gone. A
// broken file is reported and changes nothing.
func (s *station) applyOverrideFile(ctx context.Context, id string) {
	c, ok := s.mgr.Get(id)
	if !ok {
		return
	}
	if s.overrides == nil {
		s.overrides = map[string]string{}
	}
	applied := s.overrides[id]
	ov, err := scheduler.LoadOverride(s.dir, id)
	if err != nil {
		s.log.Error("override file", "channel", id, "err", err.Error())
		return
	}
	if ov == nil {
		if applied != "" {
			delete(s.overrides, id)
			if _, cerr := c.ClearOverride(ctx, ""); cerr != nil && !errors.Is(cerr, engine.ErrNoOverride) {
				s.log.Error("clearing the override", "channel", id, "err", cerr)
			}
		}
		return
	}
	text, _ := os.ReadFile(ov.File)
	if string(text) == applied {
		return
	}
	if applied != "" {
		if _, cerr := c.ClearOverride(ctx, ""); cerr != nil && !errors.Is(cerr, engine.ErrNoOverride) {
			s.log.Error("clearing the override", "channel", id, "err", cerr)
		}
	}
	s.overrides[id] = string(text)
	assets, err := s.store.List(ctx, library.Filter{Status: string(library.StatusOK)})
	if err != nil {
		s.log.Error("override file", "channel", id, "err", err)
		return
	}
	asset := library.FindByRelPath(assets, ov.Asset)
	if asset == nil {
		s.log.Error("override file", "channel", id, "file", ov.File, "err", fmt.Sprintf("no playable asset %q in the library", ov.Asset))
		return
	}
	now := s.clock.Now()
	d := ov.End(now, asset.Duration).Sub(now)
	if d <= 0 {
		s.log.Warn("override file: its end has passed", "channel", id, "file", ov.File)
		return
	}
	st, err := c.StartOverride(ctx, engine.OverrideRequest{AssetID: asset.ID, Duration: engine.DurationToTicks(d), Title: ov.Title})
	switch {
	case errors.Is(err, engine.ErrOverrideActive):
		s.log.Info("override file: the channel already has an override", "channel", id, "file", ov.File)
	case err != nil:
		s.log.Error("override file", "channel", id, "file", ov.File, "err", err)
	default:
		s.log.Info("override file applied", "channel", id, "file", ov.File, "start", st.Start, "end", st.End)
	}
}

// displayAddr turns a listen address into one a user can open: ":8080" becomes
// "localhost:8080".
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// openStore opens (creating) DIR/onair.db.
func openStore(dataDir string, e env) (*library.Store, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return library.OpenWithOptions(filepath.Join(dataDir, "onair.db"), library.Options{Now: e.now})
}

// watch reloads the channel files when one changes (after a 500 ms quiet
// period) or on SIGHUP, until ctx ends. Reloads wait for the first library
// scan, which does the first load.
func (s *station) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var events <-chan fsnotify.Event
	if fw, err := fsnotify.NewWatcher(); err != nil {
		s.log.Warn("channel files are not watched; send SIGHUP to reload them", "err", err)
	} else {
		defer fw.Close()
		if err := fw.Add(s.dir); err != nil {
			s.log.Warn("channel files are not watched; send SIGHUP to reload them", "dir", s.dir, "err", err)
		} else {
			events = fw.Events
		}
	}
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	reload := func(why string) {
		s.mu.Lock()
		ready := s.loaded
		s.mu.Unlock()
		if ready {
			s.log.Info("reloading channel files", "why", why)
			s.load(ctx)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload("SIGHUP")
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if strings.HasSuffix(ev.Name, ".yaml") {
				quiet.Reset(500 * time.Millisecond)
			}
		case <-quiet.C:
			reload("a channel file changed")
		}
	}
}
