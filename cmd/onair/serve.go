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
	"path/filepath"
	"time"

	"onair/api"
	"onair/library"
)

type serveOpts struct{ common }

func serveCommand() *command {
	return &command{
		name:    "serve",
		usage:   "onair serve [--http ADDR] [--data DIR] [--library DIR]...",
		summary: "run the server (scans the library at start, then watches it)",
		help: `The server answers /healthz at once and /readyz once the library has been
scanned. GET /api/v1/library lists the assets as JSON (?kind=episode, ?status=ok).
SIGINT or SIGTERM stops it gracefully: requests in flight finish, the database
is closed cleanly.`,
		flags: func(e env) (*flag.FlagSet, any) {
			o := &serveOpts{}
			return newFlagSet("serve", e, &o.common, "http", "data", "library"), o
		},
		run: runServe,
	}
}

func runServe(ctx context.Context, e env, fs *flag.FlagSet, opts any) error {
	o := opts.(*serveOpts)
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))

	store, err := openStore(o.data, e)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing database", "err", err)
		}
	}()

	srv := api.New(api.Config{Library: store, Logger: log})
	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.http, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	base := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(e.stdout, "onair %s serving on %s\n", version, base)
	fmt.Fprintf(e.stdout, "  health     %s/healthz\n", base)
	fmt.Fprintf(e.stdout, "  readiness  %s/readyz\n", base)
	fmt.Fprintf(e.stdout, "  library    %s/api/v1/library\n", base)

	watchCtx, cancelWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		w := &libraryWatcher{store: store, roots: o.library.values, log: log, now: e.now,
			onScanned: func(err error) {
				if err != nil {
					srv.SetReady(false, "library scan failed: "+err.Error())
					return
				}
				srv.SetReady(true, "")
			}}
		w.run(watchCtx)
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
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("http shutdown", "err", err)
	}
	return runErr
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
	return library.Open(filepath.Join(dataDir, "onair.db"), library.Options{Now: e.now})
}
