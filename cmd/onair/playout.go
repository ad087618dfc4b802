package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"onair/engine"
	"onair/engine/source"
	"onair/internal/sqlitedb"
	"onair/scheduler"
)

type playoutOpts struct {
	common
	hours float64
}

func playoutShowCommand() *command {
	return &command{
		name:    "playout show",
		usage:   "onair playout show CHANNEL [--hours N] [--data DIR] [--channels DIR]",
		summary: "print a channel's coming playout log items",
		help: `Prints the items of the channel's playout log from now on: start time, duration,
kind, title and source range. The log is the one the server plays; when it does
not reach far enough yet it is extended first (the same way the server would).`,
		flags: func(e env) (*flag.FlagSet, any) {
			o := &playoutOpts{}
			fs := newFlagSet("playout show", e, &o.common, "data", "channels")
			fs.Float64Var(&o.hours, "hours", 6, "how many hours to show")
			return fs, o
		},
		run: runPlayoutShow,
	}
}

func runPlayoutShow(ctx context.Context, e env, fs *flag.FlagSet, opts any) error {
	o := opts.(*playoutOpts)
	if fs.NArg() != 1 {
		return usageError("want one CHANNEL id (the file name in %s without .yaml)", o.channels)
	}
	if o.hours <= 0 || o.hours > 24*31 {
		return usageError("--hours must be between 0 and 744")
	}
	id := fs.Arg(0)
	chans, errs := scheduler.LoadDir(o.channels)
	var ch *scheduler.Channel
	for _, c := range chans {
		if c.ID == id {
			ch = c
		}
	}
	if ch == nil {
		for _, err := range errs {
			fmt.Fprintln(e.stderr, err)
		}
		return fmt.Errorf("no valid channel %q in %s", id, o.channels)
	}
	store, err := openStore(o.data, e)
	if err != nil {
		return err
	}
	defer store.Close()
	db, err := sqlitedb.Open(filepath.Join(o.data, "onair.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	now := e.now()
	logs, err := engine.OpenLog(ctx, db, now)
	if err != nil {
		return err
	}
	p, err := scheduler.NewPlanner(ctx, ch, store)
	if err != nil {
		return err
	}
	hours := time.Duration(o.hours * float64(time.Hour))
	c, err := engine.OpenChannel(ctx, engine.ChannelConfig{
		ID: ch.ID, Number: ch.Number, Name: ch.Name, Planner: p, Horizon: max(48*time.Hour, 2*hours),
		Segmenting: engine.Segmenting{Target: engine.DurationToTicks(ch.TargetDuration())},
	}, engine.ChannelDeps{Store: logs, Assets: &engine.LibraryAssets{Store: store}, Sources: source.NewCache(1), Clock: fixedClock{now}})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s %s (%s), from %s\n", ch.Number, ch.Name, ch.ID, now.Local().Format(time.RFC3339))
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "START\tDURATION\tKIND\tTITLE\tSOURCE\tEPG")
	if merr := c.Maintain(ctx); merr != nil {
		return merr
	}
	items, err := c.Upcoming(ctx, now, now.Add(hours))
	if err != nil {
		return err
	}
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.Start.Local().Format("01-02 15:04:05"), it.End.Sub(it.Start).Round(10*time.Millisecond),
			it.Kind, it.Title, filepath.Base(it.Asset), it.EPGGroup)
	}
	return tw.Flush()
}

// fixedClock is a clock that reads one instant (for a one-shot command).
type fixedClock struct{ t time.Time }

func (f fixedClock) Now() time.Time { return f.t }

func (f fixedClock) NewTimer(d time.Duration) engine.Timer {
	return engine.NewVirtualClock(f.t).NewTimer(d)
}
