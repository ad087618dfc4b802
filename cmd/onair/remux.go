package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"onair/engine"
	"onair/engine/source"
	"onair/library"
)

type remuxOpts struct {
	segment time.Duration
	workers int
}

func remuxCommand() *command {
	return &command{
		name:    "remux",
		usage:   "onair remux [--segment D] [--workers N] IN OUT.ts",
		summary: "run the splicer and muxer over one file (MPEG-TS or MP4 in, MPEG-TS out)",
		help: `Probes IN, then plays it start to end through the same splicer and MPEG-TS
muxer that make a channel's segments, and writes one continuous MPEG-TS file:
the channel's segments one after the other. Segments are made in parallel
(--workers, default one per CPU) and written in order. Nothing is re-encoded.
Use "-" as OUT for standard output.`,
		flags: func(e env) (*flag.FlagSet, any) {
			o := &remuxOpts{}
			fs := flag.NewFlagSet("remux", flag.ContinueOnError)
			fs.DurationVar(&o.segment, "segment", 4*time.Second, "target segment duration of the internal cuts")
			fs.IntVar(&o.workers, "workers", 0, "segments made at once (0: one per CPU)")
			return fs, o
		},
		run: runRemux,
	}
}

func runRemux(ctx context.Context, e env, fs *flag.FlagSet, opts any) error {
	o := opts.(*remuxOpts)
	if fs.NArg() != 2 {
		return usageError("want IN and OUT")
	}
	in, out := fs.Arg(0), fs.Arg(1)
	start := e.now()
	// Create OUT while IN is probed: truncating a large existing file takes a while.
	type created struct {
		f   *os.File
		err error
	}
	opened := make(chan created, 1)
	if out != "-" {
		go func() {
			f, err := os.Create(out)
			opened <- created{f, err}
		}()
	}
	la, idx, err := library.ProbeFile(in)
	if out != "-" {
		c := <-opened
		if c.err != nil {
			return c.err
		}
		defer c.f.Close()
		if err != nil || la.Status != library.StatusOK {
			_ = os.Remove(out)
		}
		opened <- c
	}
	if err != nil {
		return err
	}
	if la.Status != library.StatusOK {
		return fmt.Errorf("%s: cannot be played: %s", in, la.Reason)
	}
	a := engine.Asset{ID: 1, Path: la.Path, Container: la.Container, Duration: engine.DurationToTicks(la.Duration), Index: idx}
	for _, k := range idx.Keyframes {
		a.Keyframes = append(a.Keyframes, k.PTS-idx.StartPTS)
	}
	w := e.stdout
	var f *os.File
	if out != "-" {
		f = (<-opened).f
		w = f
	}
	if o.workers < 0 {
		return usageError("--workers must be 0 or more")
	}
	st, err := engine.Remux(ctx, w, source.NewCache(1), a, engine.Segmenting{Target: engine.DurationToTicks(o.segment)}, o.workers)
	if err != nil {
		if f != nil {
			_ = os.Remove(out)
		}
		return fmt.Errorf("%s: %w", in, err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
		el := e.now().Sub(start)
		fmt.Fprintf(e.stderr, "%s → %s: %d frames, %d segments, %.1f MB in %s (%.0f MB/s)\n", filepath.Base(in), filepath.Base(out),
			st.Frames, st.Segments, float64(st.Bytes)/1e6, el.Round(time.Millisecond), float64(st.Bytes)/1e6/max(el.Seconds(), 1e-6))
	}
	return nil
}
