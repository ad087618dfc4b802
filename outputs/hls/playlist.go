package hls

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// playlistVersion is EXT-X-VERSION of both playlists: 3 for EXTINF durations
// with decimals (RFC 8216, 7).
const playlistVersion = 3

// maxSegmentsQuery bounds how many segments one playlist asks a channel for,
// however short its segments are.
const maxSegmentsQuery = 4096

// maxTitleBytes bounds an EXTINF title.
const maxTitleBytes = 200

// window is the sliding window of a media playlist at one instant.
type window struct {
	segs []SegmentInfo // oldest first
	// target is EXT-X-TARGETDURATION: the channel's target duration rounded
	// up, raised to the longest EXTINF of segs rounded to nearest.
	target int
	// invalid says the channel's list was cut short because it broke the
	// Channel contract (a gap, a bad duration, an end in the future).
	invalid bool
}

// baseTarget is a channel's target duration rounded up to whole seconds, at
// least 1.
func baseTarget(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// extinfMillis is the segment duration EXTINF states, in milliseconds.
func extinfMillis(d time.Duration) int64 {
	return d.Round(time.Millisecond).Milliseconds()
}

// roundedSeconds is the EXTINF duration rounded to the nearest integer, the
// value RFC 8216, 4.3.3.1 compares with EXT-X-TARGETDURATION.
func roundedSeconds(d time.Duration) int {
	return int((extinfMillis(d) + 500) / 1000)
}

// selectWindow asks ch for the newest segments at now and keeps the window:
// the newest segments until there are at least cfg.WindowSegments of them and
// they last at least cfg.MinWindowDurations target durations (or the channel
// has no more).
func selectWindow(cfg *Config, ch Channel, now time.Time) (window, error) {
	base := baseTarget(ch.TargetDuration())
	n := 2 * cfg.WindowSegments
	for {
		segs, err := ch.Segments(now, n)
		if err != nil {
			return window{}, fmt.Errorf("channel %s: segments at %s: %w", ch.ID(), now.UTC().Format(time.RFC3339), err)
		}
		if len(segs) > n {
			segs = segs[len(segs)-n:]
		}
		valid, cut := validTail(segs, now)
		w, full := pickWindow(valid, cfg.WindowSegments, cfg.MinWindowDurations, base)
		w.invalid = cut
		if full || cut || len(segs) < n || n >= maxSegmentsQuery {
			return w, nil
		}
		n = min(4*n, maxSegmentsQuery)
	}
}

// validTail returns the newest run of segs that keeps the Channel contract:
// consecutive Seq, DiscSeq not decreasing, positive durations, ends not after
// now. cut reports whether anything was left out.
func validTail(segs []SegmentInfo, now time.Time) (tail []SegmentInfo, cut bool) {
	last := len(segs)
	for last > 0 && (segs[last-1].End().After(now) || segs[last-1].Duration <= 0) {
		last--
	}
	if last == 0 {
		return nil, len(segs) > 0
	}
	first := last - 1
	for first > 0 {
		prev, s := segs[first-1], segs[first]
		if prev.Duration <= 0 || prev.Seq != s.Seq-1 || prev.DiscSeq > s.DiscSeq {
			break
		}
		first--
	}
	return segs[first:last], first > 0 || last < len(segs)
}

// pickWindow keeps the newest segments of segs (oldest first) until there are
// at least minCount of them lasting at least minDurations target durations;
// full reports whether both minimums were reached.
func pickWindow(segs []SegmentInfo, minCount, minDurations, base int) (w window, full bool) {
	target := base
	var total time.Duration
	start := len(segs)
	for start > 0 {
		if len(segs)-start >= minCount && total >= time.Duration(minDurations*target)*time.Second {
			break
		}
		start--
		total += segs[start].Duration
		target = max(target, roundedSeconds(segs[start].Duration))
	}
	full = len(segs)-start >= minCount && total >= time.Duration(minDurations*target)*time.Second
	return window{segs: segs[start:], target: target}, full
}

// writeMediaPlaylist renders the media playlist of w, which has at least one
// segment.
//
// Discontinuities (RFC 8216, 4.3.3.3 and 6.2.1): a segment's discontinuity
// sequence number is EXT-X-DISCONTINUITY-SEQUENCE plus the EXT-X-DISCONTINUITY
// tags before it in the playlist. EXT-X-DISCONTINUITY-SEQUENCE is the first
// segment's DiscSeq, so no tag is written before the first segment (its
// discontinuity is already counted) and a tag is written before every later
// segment whose DiscSeq differs from its predecessor's. Every segment thus
// keeps its number from the log on every reload, and the sequence number
// grows exactly when a tag leaves the top of the window.
func writeMediaPlaylist(b *bytes.Buffer, w window) {
	first := w.segs[0]
	b.WriteString("#EXTM3U\n")
	b.WriteString("#EXT-X-VERSION:" + strconv.Itoa(playlistVersion) + "\n")
	b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	b.WriteString("#EXT-X-TARGETDURATION:" + strconv.Itoa(w.target) + "\n")
	b.WriteString("#EXT-X-MEDIA-SEQUENCE:" + strconv.FormatInt(first.Seq, 10) + "\n")
	b.WriteString("#EXT-X-DISCONTINUITY-SEQUENCE:" + strconv.FormatInt(first.DiscSeq, 10) + "\n")
	for i, s := range w.segs {
		if i > 0 && (s.Discontinuity || s.DiscSeq != w.segs[i-1].DiscSeq) {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		b.WriteString("#EXT-X-PROGRAM-DATE-TIME:" + formatPDT(s.Start) + "\n")
		ms := extinfMillis(s.Duration)
		fmt.Fprintf(b, "#EXTINF:%d.%03d,%s\n", ms/1000, ms%1000, cleanTitle(s.Title))
		b.WriteString(segmentURI(s.Seq) + "\n")
	}
}

// segmentURI is a segment's URI relative to index.m3u8.
func segmentURI(seq int64) string {
	return "seg/" + strconv.FormatInt(seq, 10) + ".ts"
}

// formatPDT formats an EXT-X-PROGRAM-DATE-TIME: UTC, milliseconds, RFC 3339.
func formatPDT(t time.Time) string {
	return t.UTC().Round(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00")
}

// cleanTitle makes a title safe for an EXTINF line: valid UTF-8, no control
// characters, trimmed, at most maxTitleBytes.
func cleanTitle(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxTitleBytes {
		cut := maxTitleBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut])
	}
	return s
}

// writeMultivariantPlaylist renders master.m3u8 listing variants.
//
// Specification: RFC 8216, 4.3.4.2.
func writeMultivariantPlaylist(b *bytes.Buffer, variants []StreamInf) {
	b.WriteString("#EXTM3U\n")
	b.WriteString("#EXT-X-VERSION:" + strconv.Itoa(playlistVersion) + "\n")
	b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	for _, v := range variants {
		uri := cleanURI(v.URI)
		if uri == "" {
			continue
		}
		b.WriteString("#EXT-X-STREAM-INF:BANDWIDTH=" + strconv.Itoa(max(v.Variant.Bandwidth, 0)))
		if c := cleanQuoted(v.Variant.Codecs); c != "" {
			b.WriteString(`,CODECS="` + c + `"`)
		}
		if v.Variant.Width > 0 && v.Variant.Height > 0 {
			b.WriteString(",RESOLUTION=" + strconv.Itoa(v.Variant.Width) + "x" + strconv.Itoa(v.Variant.Height))
		}
		if v.Variant.FrameRate > 0 {
			b.WriteString(",FRAME-RATE=" + strconv.FormatFloat(v.Variant.FrameRate, 'f', 3, 64))
		}
		b.WriteString("\n" + uri + "\n")
	}
}

// cleanQuoted drops what a quoted-string attribute cannot hold: double quotes
// and control characters (RFC 8216, 4.2).
func cleanQuoted(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// cleanURI drops whitespace and control characters from a URI line.
func cleanURI(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
