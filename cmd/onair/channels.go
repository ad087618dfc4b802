package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"onair/scheduler"
)

type channelsOpts struct{ common }

func channelsCheckCommand() *command {
	return &command{
		name:    "channels check",
		usage:   "onair channels check [DIR] [--data DIR]",
		summary: "validate channel files (exit 1 with FILE:LINE:COL: message per error)",
		help: `Checks every DIR/*.yaml (default: --channels, ./channels.d): YAML syntax, unknown
keys, wrong types, bad durations, steps that name nothing, two channels with one
number. When the library has been scanned into --data, it also checks that every
asset, show and kind a playlist names has something playable. Prints one
FILE:LINE:COL: message per problem and exits 1 when there is any.`,
		flags: func(e env) (*flag.FlagSet, any) {
			o := &channelsOpts{}
			return newFlagSet("channels check", e, &o.common, "channels", "data"), o
		},
		run: runChannelsCheck,
	}
}

// errProblems makes run exit 1 after the problems were printed.
var errProblems = errors.New("problems found")

func runChannelsCheck(ctx context.Context, e env, fs *flag.FlagSet, opts any) error {
	o := opts.(*channelsOpts)
	dir := o.channels
	switch fs.NArg() {
	case 0:
	case 1:
		dir = fs.Arg(0)
	default:
		return usageError("want at most one DIR")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	chans, errs := scheduler.LoadDir(dir)
	dbPath := filepath.Join(o.data, "onair.db")
	if _, err := os.Stat(dbPath); err == nil {
		store, err := openStore(o.data, e)
		if err != nil {
			return err
		}
		defer store.Close()
		snap, err := scheduler.Snapshot(ctx, store)
		if err != nil {
			return err
		}
		for _, ch := range chans {
			errs = append(errs, snap.Check(ch)...)
		}
	} else {
		fmt.Fprintf(e.stderr, "no library database at %s: library references not checked (run 'onair library scan')\n", dbPath)
	}
	for _, err := range errs {
		fmt.Fprintln(e.stdout, err)
	}
	if len(errs) > 0 {
		fmt.Fprintf(e.stderr, "%d problems in %s\n", len(errs), dir)
		return errProblems
	}
	fmt.Fprintf(e.stderr, "%d channels ok in %s\n", len(chans), dir)
	return nil
}
