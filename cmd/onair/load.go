package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type loadOpts struct {
	url      string
	channels string
	viewers  int
	duration time.Duration
	tune     bool
	ramp     time.Duration
	ts       bool
}

func loadCommand() *command {
	return &command{
		name:    "load",
		usage:   "onair load [--url URL] [--channels ID,...] [--viewers N] [--duration D] [--ramp D] [--tune | --ts]",
		summary: "load-test a server with HLS viewers, or measure cold tune times",
		help: `Each viewer plays one channel the way an HLS player does: it fetches the media
playlist every half target duration and every segment that appears in it, and
counts errors, missed segments (a gap in the media sequence between two of its
playlists) and the latency of each segment request. Viewers are spread over the
channels round robin, and start one after the other, evenly over --ramp (as
viewers tune in at different moments; 0 starts them all at once, in lockstep).
At the end it prints the counts and latency percentiles.

With --ts, the viewers play the first channel's continuous MPEG-TS
(/channels/{id}.ts) instead, all at once, and it reports how many kept up:
received at least 90% of the median viewer's bytes, every 188-byte packet in
sync.

With --tune, it measures cold tune instead: for each channel in turn, the time
from the first playlist request to the last byte of the newest segment listed.
Use it against a freshly started server so the channels are idle.

Only point it at a server you run: the requests are bounded by --duration.`,
		flags: func(e env) (*flag.FlagSet, any) {
			o := &loadOpts{}
			fs := flag.NewFlagSet("load", flag.ContinueOnError)
			fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "server base `URL`")
			fs.StringVar(&o.channels, "channels", "", "channel ids, comma-separated (default: every channel of /api/v1/channels)")
			fs.IntVar(&o.viewers, "viewers", 10, "number of viewers")
			fs.DurationVar(&o.duration, "duration", time.Minute, "how long to play")
			fs.BoolVar(&o.tune, "tune", false, "measure cold tune times instead")
			fs.DurationVar(&o.ramp, "ramp", 4*time.Second, "spread the viewers' start over this time")
			fs.BoolVar(&o.ts, "ts", false, "viewers of one channel's continuous MPEG-TS instead of HLS")
			return fs, o
		},
		run: runLoad,
	}
}

func runLoad(ctx context.Context, e env, fs *flag.FlagSet, opts any) error {
	o := opts.(*loadOpts)
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if o.viewers < 1 || o.viewers > 100000 {
		return usageError("--viewers must be between 1 and 100000")
	}
	if o.duration <= 0 || o.duration > 24*time.Hour {
		return usageError("--duration must be between 0 and 24h")
	}
	base, err := url.Parse(o.url)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return usageError("--url: want http://HOST:PORT")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4096, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}, Timeout: 30 * time.Second}
	ids := splitList(o.channels)
	if len(ids) == 0 {
		if ids, err = listChannels(ctx, client, o.url); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		return errors.New("the server has no channels")
	}
	if o.tune {
		return coldTune(ctx, e, client, o.url, ids)
	}
	if o.ts {
		return tsViewers(ctx, e, o.url+"/channels/"+url.PathEscape(ids[0])+".ts", o.viewers, o.duration)
	}
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	stats := make([]viewerStats, o.viewers)
	if o.ramp < 0 || o.ramp >= o.duration {
		return usageError("--ramp must be at least 0 and shorter than --duration")
	}
	for i := range o.viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sleepCtx(ctx, o.ramp*time.Duration(i)/time.Duration(o.viewers))
			stats[i] = playViewer(ctx, client, o.url, ids[i%len(ids)], e.now)
		}()
	}
	wg.Wait()
	var all viewerStats
	for _, s := range stats {
		all.segments += s.segments
		all.playlists += s.playlists
		all.errors += s.errors
		all.missed += s.missed
		all.bytes += s.bytes
		all.latency = append(all.latency, s.latency...)
		if all.firstErr == "" {
			all.firstErr = s.firstErr
		}
	}
	fmt.Fprintf(e.stdout, "viewers %d, channels %d, duration %s\n", o.viewers, len(ids), o.duration)
	fmt.Fprintf(e.stdout, "playlists %d, segments %d (%.1f MB), errors %d, missed segments %d\n",
		all.playlists, all.segments, float64(all.bytes)/1e6, all.errors, all.missed)
	fmt.Fprintf(e.stdout, "segment latency p50 %s p90 %s p99 %s max %s\n", pct(all.latency, 50), pct(all.latency, 90), pct(all.latency, 99), pct(all.latency, 100))
	if all.firstErr != "" {
		fmt.Fprintf(e.stdout, "first error: %s\n", all.firstErr)
	}
	if all.errors > 0 || all.missed > 0 {
		return fmt.Errorf("%d errors, %d missed segments", all.errors, all.missed)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func listChannels(ctx context.Context, c *http.Client, base string) ([]string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/channels", nil)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list struct {
		Channels []struct {
			ID string `json:"id"`
		} `json:"channels"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("%s/api/v1/channels: %w", base, err)
	}
	var ids []string
	for _, c := range list.Channels {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

type viewerStats struct {
	playlists, segments, errors, missed int
	bytes                               int64
	latency                             []time.Duration
	firstErr                            string
}

func (s *viewerStats) fail(format string, args ...any) {
	s.errors++
	if s.firstErr == "" {
		s.firstErr = fmt.Sprintf(format, args...)
	}
}

// playViewer plays one channel until ctx ends.
func playViewer(ctx context.Context, c *http.Client, base, id string, now func() time.Time) viewerStats {
	var st viewerStats
	plURL := base + "/channels/" + id + "/index.m3u8"
	next := int64(-1)
	for ctx.Err() == nil {
		t0 := now()
		pl, err := fetch(ctx, c, plURL)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			st.fail("%s: %v", plURL, err)
			sleepCtx(ctx, time.Second)
			continue
		}
		st.playlists++
		seq0, target, uris := parsePlaylist(string(pl))
		if next >= 0 && seq0 > next {
			st.missed += int(seq0 - next)
			next = seq0
		}
		for i, u := range uris {
			seq := seq0 + int64(i)
			if seq < next || (next < 0 && i < len(uris)-1) {
				continue // already fetched, or tune in at the live edge
			}
			s0 := now()
			n, err := fetchDiscard(ctx, c, base+"/channels/"+id+"/"+u)
			if ctx.Err() != nil {
				break
			}
			if err != nil {
				st.fail("%s segment %d: %v", id, seq, err)
				continue
			}
			st.latency = append(st.latency, now().Sub(s0))
			st.segments++
			st.bytes += n
			next = seq + 1
		}
		wait := time.Duration(float64(target)*float64(time.Second)/2) - now().Sub(t0)
		sleepCtx(ctx, wait)
	}
	return st
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func fetch(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	var b bytes.Buffer
	if _, err := fetchTo(ctx, c, u, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// fetchDiscard gets u and reads its body to the end without keeping it, like
// fetch but without holding megabytes per segment; it returns the body size.
func fetchDiscard(ctx context.Context, c *http.Client, u string) (int64, error) {
	return fetchTo(ctx, c, u, io.Discard)
}

// fetchTo gets u and copies its body to w; an answer other than 200 is an
// error with the start of its body, a body shorter than announced too.
func fetchTo(ctx context.Context, c *http.Client, u string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	// Hide w's ReadFrom (io.Discard and bytes.Buffer have one), which would
	// leave the 256 KB buffer unused for small reads of its own.
	n, err := io.CopyBuffer(struct{ io.Writer }{w}, resp.Body, *bp)
	if err != nil {
		return n, err
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("body of %d bytes, Content-Length %d", n, resp.ContentLength)
	}
	return n, nil
}

var copyPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// parsePlaylist returns the media sequence, the target duration (seconds) and the segment URIs.
func parsePlaylist(s string) (seq0 int64, target float64, uris []string) {
	target = 4
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			seq0, _ = strconv.ParseInt(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			target, _ = strconv.ParseFloat(strings.TrimPrefix(line, "#EXT-X-TARGETDURATION:"), 64)
		case line != "" && !strings.HasPrefix(line, "#"):
			uris = append(uris, line)
		}
	}
	return seq0, target, uris
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(10 * time.Microsecond)
}

// coldTune measures, channel by channel, playlist request to last byte of the newest segment.
func coldTune(ctx context.Context, e env, c *http.Client, base string, ids []string) error {
	var times []time.Duration
	errs := 0
	for _, id := range ids {
		t0 := e.now()
		pl, err := fetch(ctx, c, base+"/channels/"+id+"/index.m3u8")
		if err != nil {
			errs++
			fmt.Fprintf(e.stderr, "%s: %v\n", id, err)
			continue
		}
		_, _, uris := parsePlaylist(string(pl))
		if len(uris) == 0 {
			errs++
			continue
		}
		if _, err := fetch(ctx, c, base+"/channels/"+id+"/"+uris[len(uris)-1]); err != nil {
			errs++
			fmt.Fprintf(e.stderr, "%s: %v\n", id, err)
			continue
		}
		times = append(times, e.now().Sub(t0))
	}
	fmt.Fprintf(e.stdout, "cold tune over %d channels: p50 %s p99 %s max %s, errors %d\n", len(times), pct(times, 50), pct(times, 99), pct(times, 100), errs)
	if errs > 0 {
		return fmt.Errorf("%d channels failed to tune", errs)
	}
	return nil
}

// tsViewers plays u with n continuous-TS viewers for d and reports how many
// kept up: at least 90% of the median viewer's bytes, in packet sync.
func tsViewers(ctx context.Context, e env, u string, n int, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}}
	type result struct {
		bytes  int64
		code   int
		insync bool
		err    string
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &res[i]
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				r.err = err.Error()
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				r.err = err.Error()
				return
			}
			defer resp.Body.Close()
			r.code, r.insync = resp.StatusCode, true
			buf := make([]byte, 188*256)
			for {
				k, err := io.ReadFull(resp.Body, buf)
				for p := 0; p+188 <= k; p += 188 {
					if buf[p] != 0x47 {
						r.insync = false
					}
				}
				r.bytes += int64(k)
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	sizes := make([]int64, n)
	for i := range res {
		sizes[i] = res[i].bytes
	}
	sort.Slice(sizes, func(a, b int) bool { return sizes[a] < sizes[b] })
	median := sizes[n/2]
	kept, firstErr := 0, ""
	for _, r := range res {
		switch {
		case r.code == http.StatusOK && r.insync && r.bytes >= median*9/10 && median > 0:
			kept++
		case firstErr == "" && r.err != "":
			firstErr = r.err
		case firstErr == "" && r.code != http.StatusOK:
			firstErr = fmt.Sprintf("HTTP %d", r.code)
		}
	}
	fmt.Fprintf(e.stdout, "continuous TS: %d viewers of %s for %s\n", n, u, d)
	fmt.Fprintf(e.stdout, "kept up %d, behind or failed %d; median %.2f Mbit/s per viewer (min %.2f, max %.2f)\n", kept, n-kept,
		float64(median)*8/d.Seconds()/1e6, float64(sizes[0])*8/d.Seconds()/1e6, float64(sizes[n-1])*8/d.Seconds()/1e6)
	if kept < n {
		if firstErr != "" {
			fmt.Fprintf(e.stdout, "first error: %s\n", firstErr)
		}
		return fmt.Errorf("%d of %d continuous-TS viewers fell behind or failed", n-kept, n)
	}
	return nil
}
