package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"onair/engine"
	"onair/internal/metrics"
	"onair/outputs/hls"
)

// withOps adds the operations flags to a server command (--config,
// --log-format, --log-level), applies the configuration file under the
// command line and the environment before it runs, and hands it an ops
// (logger, metrics) through its context. SIGHUP re-reads the file while it
// runs.
func withOps(c *command) *command {
	inner := c.flags
	innerRun := c.run
	c.flags = func(e env) (*flag.FlagSet, any) {
		fs, opts := inner(e)
		addOpsFlags(fs, e)
		return fs, opts
	}
	c.run = func(ctx context.Context, e env, fs *flag.FlagSet, opts any) error {
		ac, err := applyConfig(fs, e)
		if err != nil {
			return err
		}
		o, err := newOps(e, fs, ac)
		if err != nil {
			return err
		}
		defer o.metrics.Close()
		if ac.file != "" {
			o.log.Info("configuration file read", "file", ac.file)
		}
		hupCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			o.reloadOnHUP(hupCtx, e, c, fs)
		}()
		err = innerRun(context.WithValue(ctx, opsKey{}, o), e, fs, opts)
		stop()
		<-done
		o.log.Info("stopped")
		return err
	}
	return c
}

// addOpsFlags registers the operations flags, their defaults from ONAIR_*.
func addOpsFlags(fs *flag.FlagSet, e env) {
	def := func(name, d string) string {
		if v := e.getenv(envVarOf(name)); v != "" {
			return v
		}
		return d
	}
	fs.String("config", def("config", ""), "configuration file (YAML map of flag names to values); default ./onair.yaml when it exists (env ONAIR_CONFIG)")
	fs.String("log-format", def("log-format", "text"), "log format: text or json (env ONAIR_LOG_FORMAT)")
	fs.String("log-level", def("log-level", "info"), "log level: debug, info, warn or error; SIGHUP applies a new one from the file (env ONAIR_LOG_LEVEL)")
}

type opsKey struct{}

// ops is what a server gets from withOps.
type ops struct {
	log     *slog.Logger
	level   *slog.LevelVar
	metrics *metrics.Metrics
	applied appliedConfig
	args    map[string]string // effective values at start
}

// opsFrom returns the ops of ctx, or a default one (text logs on stderr).
func opsFrom(ctx context.Context, e env) *ops {
	if o, ok := ctx.Value(opsKey{}).(*ops); ok {
		return o
	}
	lv := &slog.LevelVar{}
	return &ops{log: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lv})), level: lv, metrics: metrics.New(metrics.Options{})}
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, usageError("--log-level: %q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

func newOps(e env, fs *flag.FlagSet, ac appliedConfig) (*ops, error) {
	lv := &slog.LevelVar{}
	l, err := parseLevel(fs.Lookup("log-level").Value.String())
	if err != nil {
		return nil, err
	}
	lv.Set(l)
	var h slog.Handler
	switch f := fs.Lookup("log-format").Value.String(); f {
	case "text":
		h = slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lv})
	case "json":
		h = slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: lv})
	default:
		return nil, usageError("--log-format: %q is not text or json", f)
	}
	o := &ops{log: slog.New(h), level: lv, metrics: metrics.New(metrics.Options{}), applied: ac, args: flagValues(fs)}
	return o, nil
}

func flagValues(fs *flag.FlagSet) map[string]string {
	m := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { m[f.Name] = f.Value.String() })
	return m
}

// reloadOnHUP re-reads the configuration on SIGHUP: the log level applies at
// once; other changed keys are reported as needing a restart. (The server's
// channel files reload on the same signal.)
func (o *ops) reloadOnHUP(ctx context.Context, e env, c *command, running *flag.FlagSet) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			err := o.reload(e, c, running)
			o.metrics.ObserveReload(err)
			if err != nil {
				o.log.Error("configuration reload failed; keeping the running configuration", "err", err)
			}
		}
	}
}

// reload builds the configuration anew from the same command line, the
// environment and the file, and applies what can change while running.
func (o *ops) reload(e env, c *command, running *flag.FlagSet) error {
	fs, _ := c.flags(e)
	var args []string
	running.Visit(func(f *flag.Flag) { args = append(args, "--"+f.Name+"="+f.Value.String()) })
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ac, err := applyConfig(fs, e)
	if err != nil {
		return err
	}
	now := flagValues(fs)
	l, err := parseLevel(now["log-level"])
	if err != nil {
		return err
	}
	var restart []string
	for k, v := range now {
		if v != o.args[k] && k != "log-level" {
			restart = append(restart, k)
		}
	}
	if l != o.level.Level() {
		o.level.Set(l)
		o.args["log-level"] = now["log-level"]
	}
	o.log.Info("configuration reloaded", "file", ac.file, "log_level", o.level.Level().String())
	if len(restart) > 0 {
		o.log.Warn("configuration changed where only a restart applies it", "keys", strings.Join(restart, ","))
	}
	return nil
}

// handler wraps the server's handler with /metrics, /debug/pprof (admins
// only), request ids, request logs and the HTTP metrics.
func (o *ops) handler(next http.Handler, adminToken string) http.Handler {
	return o.metrics.Wrap(next, metrics.HTTPOptions{Logger: o.log, AdminToken: adminToken, Now: time.Now})
}

// watch sets the values read at scrape time: per channel viewers and status
// counters, and the HLS cache.
func (o *ops) watch(mgr *engine.Manager, hlsOut *hls.Output, viewers func(id string) map[string]int, clock engine.Clock) {
	o.metrics.SetSources(metrics.Sources{
		Channels: func() []metrics.ChannelSample {
			now := clock.Now()
			chans := mgr.List()
			out := make([]metrics.ChannelSample, 0, len(chans))
			for _, c := range chans {
				st := c.Status(now)
				out = append(out, metrics.ChannelSample{
					ID: c.ID(), Viewers: viewers(c.ID()), ItemsFailed: st.ItemsFailed, SlateSeconds: st.SlateSeconds, LogFailures: st.LogFailures,
				})
			}
			return out
		},
		Cache: func() metrics.CacheSample {
			s := hlsOut.Stats()
			return metrics.CacheSample{Bytes: s.CacheBytes, Entries: int64(s.CacheEntries), Evictions: s.Evictions, Prefetched: s.Prefetched, PrefetchDropped: s.PrefetchDropped}
		},
	})
}
