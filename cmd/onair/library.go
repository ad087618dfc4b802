package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"onair/library"
)

type libraryOpts struct {
	common
	kind   string
	status string
	json   bool
}

func libraryScanCommand() *command {
	return &command{
		name:    "library scan",
		usage:   "onair library scan [--data DIR] [--library DIR]...",
		summary: "scan the library roots into the database",
		help: `Walks every library root. Files whose size and modification time have not
changed are skipped; a moved file keeps its id; a deleted file is marked
missing. Files that cannot be played are recorded with the reason and counted
as problems; the scan goes on and exits 0.`,
		flags: func(e env) (*flag.FlagSet, any) {
			o := &libraryOpts{}
			return newFlagSet("library scan", e, &o.common, "data", "library"), o
		},
		run: runLibraryScan,
	}
}

func libraryListCommand() *command {
	return &command{
		name:    "library list",
		usage:   "onair library list [--kind KIND] [--status STATUS] [--json] [--data DIR]",
		summary: "list the assets of the library",
		help:    "Kinds: " + library.KindNames() + ". Statuses: ok, unplayable, missing.",
		flags: func(e env) (*flag.FlagSet, any) {
			o := &libraryOpts{}
			fs := newFlagSet("library list", e, &o.common, "data")
			fs.StringVar(&o.kind, "kind", "", "only assets of this `KIND`")
			fs.StringVar(&o.status, "status", "", "only assets with this `STATUS`")
			fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
			return fs, o
		},
		run: runLibraryList,
	}
}

func runLibraryScan(ctx context.Context, e env, fs *flag.FlagSet, opts any) error {
	o := opts.(*libraryOpts)
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q (library roots are given with --library)", fs.Arg(0))
	}
	if len(o.library.values) == 0 {
		return usageError("no library root: give --library DIR or set ONAIR_LIBRARY")
	}
	store, err := openStore(o.data, e)
	if err != nil {
		return err
	}
	defer store.Close()
	sum, err := scanWithProgress(ctx, e, store, o.library.values)
	if err != nil {
		return err
	}
	printSummary(e, sum)
	return nil
}

// scanWithProgress scans, drawing a progress line on a terminal (at most 10
// times a second) or a line every 5 s otherwise.
func scanWithProgress(ctx context.Context, e env, store *library.Store, roots []string) (library.ScanSummary, error) {
	// Off a terminal, a line every 5 s, the first after 5 s; on one, redrawn 10 times a second.
	last := e.now()
	every := 5 * time.Second
	if e.tty {
		every = 100 * time.Millisecond
	}
	progress := func(p library.ScanProgress) {
		now := e.now()
		if now.Sub(last) < every {
			return
		}
		last = now
		line := fmt.Sprintf("scanning: %d/%d files, %.1f MB read, %.0f files/s, %.1f MB/s", p.FilesSeen, p.FilesTotal, float64(p.BytesRead)/1e6, p.FilesPerSecond, p.MBPerSecond)
		if e.tty {
			fmt.Fprintf(e.stderr, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(e.stderr, line)
		}
	}
	sum, err := store.Scan(ctx, roots, progress)
	if e.tty {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	return sum, err
}

func printSummary(e env, s library.ScanSummary) {
	fmt.Fprintf(e.stdout, "scanned %d files in %s: %d added, %d updated, %d unchanged, %d moved, %d missing, %d problems\n",
		s.FilesSeen, s.Elapsed.Round(time.Millisecond), s.Added, s.Updated, s.Unchanged, s.Moved, s.Missing, len(s.Problems))
	for _, p := range s.Problems {
		fmt.Fprintf(e.stdout, "  problem: %s: %s\n", p.Path, strings.Join(p.Reasons, "; "))
	}
}

func runLibraryList(ctx context.Context, e env, fs *flag.FlagSet, opts any) error {
	o := opts.(*libraryOpts)
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if o.kind != "" && !library.ValidKind(o.kind) {
		return usageError("--kind: unknown kind %q (one of %s)", o.kind, library.KindNames())
	}
	if o.status != "" && !library.ValidStatus(o.status) {
		return usageError("--status: unknown status %q (one of ok, unplayable, missing)", o.status)
	}
	store, err := openStore(o.data, e)
	if err != nil {
		return err
	}
	defer store.Close()
	assets, err := store.List(ctx, library.Filter{Kind: o.kind, Status: o.status})
	if err != nil {
		return err
	}
	if o.json {
		if assets == nil {
			assets = []library.Asset{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(assets)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tDURATION\tVIDEO\tAUDIO\tKEYFRAMES\tPATH")
	for _, a := range assets {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", a.ID, a.Kind, statusText(a), fmtDuration(a.Duration.Seconds()),
			videoText(a), audioText(a), a.KeyframeCount, a.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(assets) == 0 {
		fmt.Fprintln(e.stderr, "no assets; run 'onair library scan' first")
	}
	return nil
}

func statusText(a library.Asset) string {
	if a.Status == library.StatusOK || a.Reason == "" {
		return string(a.Status)
	}
	r := a.Reason
	if len(r) > 40 {
		r = r[:37] + "..."
	}
	return string(a.Status) + " (" + r + ")"
}

func fmtDuration(sec float64) string {
	if sec <= 0 {
		return "-"
	}
	d := time.Duration(sec * float64(time.Second)).Round(10 * time.Millisecond)
	h := int(d / time.Hour)
	m := int(d/time.Minute) % 60
	s := d.Seconds() - float64(h*3600+m*60)
	return fmt.Sprintf("%d:%02d:%05.2f", h, m, s)
}

func videoText(a library.Asset) string {
	v := a.Video
	if v == nil || v.Codec == "" {
		return "-"
	}
	parts := []string{v.Codec}
	if v.Width > 0 {
		parts = append(parts, fmt.Sprintf("%dx%d", v.Width, v.Height))
	}
	if v.FrameRate.Num > 0 && v.FrameRate.Den > 0 {
		parts = append(parts, strconv.FormatFloat(v.FrameRate.Float(), 'f', -1, 64)+"fps")
	}
	return strings.Join(parts, " ")
}

func audioText(a library.Asset) string {
	au := a.Audio
	if au == nil || au.Codec == "" {
		return "-"
	}
	return fmt.Sprintf("%s %dHz %dch", au.Codec, au.SampleRate, au.Channels)
}
