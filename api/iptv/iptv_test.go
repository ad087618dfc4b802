package iptv

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/library"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// fakeChannel is a channel with a fixed log.
type fakeChannel struct {
	cfg   engine.ChannelConfig
	items []engine.Playing
}

func (f *fakeChannel) Config() engine.ChannelConfig { return f.cfg }

func (f *fakeChannel) Upcoming(_ context.Context, from, until time.Time) ([]engine.Playing, error) {
	var out []engine.Playing
	for _, it := range f.items {
		if it.End.After(from) && it.Start.Before(until) {
			out = append(out, it)
		}
	}
	return out, nil
}

type fakeAssets map[int64]library.Asset

func (f fakeAssets) Get(_ context.Context, id int64) (library.Asset, error) {
	a, ok := f[id]
	if !ok {
		return a, library.ErrNotFound
	}
	return a, nil
}

var t0 = time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)

// log builds a channel log from (kind, title, asset, group, seconds) rows,
// back to back from t0.
func log(rows ...[5]any) []engine.Playing {
	var out []engine.Playing
	at := t0
	for i, r := range rows {
		d := time.Duration(r[4].(int)) * time.Second
		out = append(out, engine.Playing{
			Index: int64(i), Kind: engine.Kind(r[0].(string)), Title: r[1].(string), AssetID: int64(r[2].(int)),
			EPGGroup: r[3].(string), Start: at, End: at.Add(d),
		})
		at = at.Add(d)
	}
	return out
}

// rig is a handler over two channels: news (a show with breaks, filler, a
// movie) and a channel whose name needs escaping.
func rig(t *testing.T) (*Handler, *httptest.Server) {
	t.Helper()
	assets := fakeAssets{
		1: {ID: 1, Kind: library.KindEpisode, Show: "Harbor Lights", Season: 1, Episode: 2, Title: "Fog Warning", Tags: []string{"Drama"}},
		2: {ID: 2, Kind: library.KindAd, Title: "Soap"},
		3: {ID: 3, Kind: library.KindBumper, Title: "Back soon"},
		4: {ID: 4, Kind: library.KindMovie, Title: "The Long Night", Rating: "PG-13", Description: "A keeper stays on through the storm."},
		5: {ID: 5, Kind: library.KindEpisode, Show: "Harbor Lights", Season: 1, Episode: 3, Title: "Low Tide"},
		6: {ID: 6, Kind: library.KindFiller, Title: "Seascape"},
	}
	news := &fakeChannel{
		cfg: engine.ChannelConfig{ID: "news", Number: "101", Name: "Harbor TV", Group: "Drama"},
		items: log(
			[5]any{"program", "Harbor Lights: Fog Warning", 1, "news-0-1", 600},
			[5]any{"bumper", "Back soon", 3, "news-0-1", 5},
			[5]any{"ad", "Soap", 2, "news-0-1", 30},
			[5]any{"program", "Harbor Lights: Fog Warning", 1, "news-0-1", 600},
			[5]any{"bumper", "Back soon", 3, "news-1", 5}, // a short interstitial: folded into the programme before
			[5]any{"program", "Harbor Lights: Low Tide", 5, "news-2-5", 1200},
			[5]any{"filler", "Seascape", 6, "news-3-fill", 900}, // a long one: a programme of its own
			[5]any{"program", "The Long Night", 4, "news-4-4", 5400},
			[5]any{"override", "Breaking news", 2, "news-override-1", 300},
		),
	}
	odd := &fakeChannel{
		cfg: engine.ChannelConfig{ID: "odd_one", Number: "4.1", Name: `Say "Hi", & <Bye>`, Logo: "https://example.com/odd.png"},
		items: log(
			[5]any{"program", "The Long Night", 4, "odd-0", 5400},
		),
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "harbor.svg"), []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), 0o644))
	h := New(Config{
		Channels: func() []Channel { return []Channel{news, odd} }, Assets: assets, Clock: fixedClock{t0.Add(5 * time.Minute)},
		GuideHours: 3, LogoDir: dir, Tuners: NewTuners(2), Version: "test",
	})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return h, srv
}

func fetch(t *testing.T, url string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), got, "differs from %s (go test -update rewrites it)", p)
}

// m3uEntry is one channel of a parsed M3U.
type m3uEntry struct {
	attrs map[string]string
	title string
	url   string
}

var m3uAttr = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)

// parseM3U reads an extended M3U the way IPTV players do, checking the
// format's rules on the way.
func parseM3U(t *testing.T, body string) (header map[string]string, entries []m3uEntry) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	require.NotEmpty(t, lines)
	require.True(t, strings.HasPrefix(lines[0], "#EXTM3U"), "the first line is #EXTM3U: %q", lines[0])
	header = map[string]string{}
	for _, m := range m3uAttr.FindAllStringSubmatch(lines[0], -1) {
		header[m[1]] = m[2]
	}
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		require.NotContains(t, l, "\r", "lines end with LF only")
		require.True(t, strings.HasPrefix(l, "#EXTINF:-1 "), "line %d: an entry starts with #EXTINF:-1: %q", i+1, l)
		require.Less(t, i+1, len(lines), "line %d: #EXTINF without a URL line", i+1)
		// The title follows the last comma outside quotes.
		inQuote, comma := false, -1
		for j, c := range l {
			switch {
			case c == '"':
				inQuote = !inQuote
			case c == ',' && !inQuote:
				comma = j
			}
			if comma >= 0 {
				break
			}
		}
		require.False(t, inQuote && comma < 0, "line %d: unbalanced quotes: %q", i+1, l)
		require.Positive(t, comma, "line %d: #EXTINF without a title after a comma", i+1)
		e := m3uEntry{attrs: map[string]string{}, title: l[comma+1:], url: lines[i+1]}
		require.Equal(t, 2*len(m3uAttr.FindAllStringSubmatch(l[:comma], -1)), strings.Count(l[:comma], `"`), "line %d: every quote belongs to an attribute", i+1)
		for _, m := range m3uAttr.FindAllStringSubmatch(l[:comma], -1) {
			e.attrs[m[1]] = m[2]
		}
		entries = append(entries, e)
		i++
	}
	return header, entries
}

func TestM3U(t *testing.T) {
	_, srv := rig(t)
	code, hdr, body := fetch(t, srv.URL+"/iptv/channels.m3u", "Host", "tv.example:8080")
	require.Equal(t, 200, code, body)
	require.Equal(t, "audio/x-mpegurl; charset=utf-8", hdr.Get("Content-Type"))
	golden(t, "channels.m3u", body)
	header, entries := parseM3U(t, body)

	// The format's rules, as players apply them.
	rules := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"the header names the guide as url-tvg and x-tvg-url, absolute", func(t *testing.T) {
			require.Equal(t, "http://tv.example:8080/iptv/xmltv.xml", header["url-tvg"])
			require.Equal(t, header["url-tvg"], header["x-tvg-url"])
		}},
		{"one entry per channel, ordered by number (4.1 before 101)", func(t *testing.T) {
			require.Len(t, entries, 2)
			require.Equal(t, "4.1", entries[0].attrs["tvg-chno"])
			require.Equal(t, "101", entries[1].attrs["tvg-chno"])
		}},
		{"every entry has tvg-id, tvg-name, tvg-logo, tvg-chno, group-title", func(t *testing.T) {
			for _, e := range entries {
				for _, k := range []string{"tvg-id", "tvg-name", "tvg-logo", "tvg-chno", "group-title"} {
					_, ok := e.attrs[k]
					require.True(t, ok, "%s missing in %+v", k, e.attrs)
				}
			}
		}},
		{"tvg-id is stable, unique, and the XMLTV channel id", func(t *testing.T) {
			require.Equal(t, "odd-one.onair", entries[0].attrs["tvg-id"])
			require.Equal(t, "news.onair", entries[1].attrs["tvg-id"])
			require.Equal(t, TVGID("news"), entries[1].attrs["tvg-id"])
		}},
		{"quotes in a name cannot end the attribute", func(t *testing.T) {
			require.Equal(t, `Say 'Hi', & <Bye>`, entries[0].attrs["tvg-name"])
			require.Equal(t, `Say "Hi", & <Bye>`, entries[0].title)
		}},
		{"logos: the channel file's URL as it is, else an absolute URL of ours", func(t *testing.T) {
			require.Equal(t, "https://example.com/odd.png", entries[0].attrs["tvg-logo"])
			require.Equal(t, "http://tv.example:8080/iptv/logos/news.png", entries[1].attrs["tvg-logo"])
		}},
		{"stream URLs are absolute HLS playlists", func(t *testing.T) {
			require.Equal(t, "http://tv.example:8080/channels/odd_one/master.m3u8", entries[0].url)
			require.Equal(t, "http://tv.example:8080/channels/news/master.m3u8", entries[1].url)
		}},
	}
	for _, r := range rules {
		t.Run(r.name, r.check)
	}

	t.Run("format=ts gives continuous TS URLs", func(t *testing.T) {
		code, _, body := fetch(t, srv.URL+"/iptv/channels.m3u?format=ts", "Host", "tv.example")
		require.Equal(t, 200, code)
		_, es := parseM3U(t, body)
		require.Equal(t, "http://tv.example/channels/news.ts", es[1].url)
	})
	t.Run("X-Forwarded-Proto and X-Forwarded-Host", func(t *testing.T) {
		_, _, body := fetch(t, srv.URL+"/iptv/channels.m3u", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "iptv.example.org")
		h, es := parseM3U(t, body)
		require.Equal(t, "https://iptv.example.org/iptv/xmltv.xml", h["url-tvg"])
		require.Equal(t, "https://iptv.example.org/channels/news/master.m3u8", es[1].url)
	})
	t.Run("a forged X-Forwarded-Host is ignored", func(t *testing.T) {
		_, _, body := fetch(t, srv.URL+"/iptv/channels.m3u", "Host", "tv.example", "X-Forwarded-Host", `evil"/><script>`)
		h, _ := parseM3U(t, body)
		require.Equal(t, "http://tv.example/iptv/xmltv.xml", h["url-tvg"])
	})
	for _, q := range []string{"?format=mp4", "?foo=1", "?format=" + strings.Repeat("x", 2000), "?%zz"} {
		t.Run("400 for "+q[:min(len(q), 20)], func(t *testing.T) {
			code, _, body := fetch(t, srv.URL+"/iptv/channels.m3u"+q)
			require.Equal(t, http.StatusBadRequest, code, body)
			require.NotEmpty(t, strings.TrimSpace(body))
		})
	}
}

// xmltvValidate runs tv_validate_file (Debian's xmltv-util) on doc, with
// the DTD from the package rather than the network.
func xmltvValidate(t *testing.T, doc string) {
	t.Helper()
	tool, err := exec.LookPath("tv_validate_file")
	if err != nil {
		if os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" {
			t.Fatalf("tv_validate_file not found on PATH (ONAIR_REQUIRE_TOOLS=1; apt-get install xmltv-util)")
		}
		t.Skipf("SKIP: tv_validate_file not found (apt-get install xmltv-util)")
	}
	p := filepath.Join(t.TempDir(), "guide.xml")
	require.NoError(t, os.WriteFile(p, []byte(doc), 0o644))
	cmd := exec.Command(tool, p)
	if _, err := os.Stat("/usr/share/xmltv/xmltv.dtd"); err == nil {
		cmd.Env = append(os.Environ(), "XMLTV_SUPPLEMENT=/usr/share/xmltv")
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "tv_validate_file:\n%s", out)
	require.Contains(t, string(out), "Validated ok")
}

func TestXMLTV(t *testing.T) {
	_, srv := rig(t)
	code, hdr, body := fetch(t, srv.URL+"/iptv/xmltv.xml", "Host", "tv.example")
	require.Equal(t, 200, code, body)
	require.Equal(t, "application/xml; charset=utf-8", hdr.Get("Content-Type"))
	golden(t, "xmltv.xml", body)
	xmltvValidate(t, body)

	// One programme per EPG group: the episode with its break is one entry
	// (20:00-20:20:35 plus the 5 s bumper after it); the long filler is one;
	// the guide is 3 h from now (20:05), so the movie is in and the
	// override after it (at 21:55) too.
	require.Equal(t, 5, strings.Count(body, `channel="news.onair"`))
	require.Contains(t, body, `<programme start="20261122200000 +0000" stop="20261122202040 +0000" channel="news.onair">`)
	require.Contains(t, body, `<episode-num system="xmltv_ns">0.1.</episode-num>`)
	require.Contains(t, body, `<episode-num system="onscreen">S01E02</episode-num>`)
	require.Contains(t, body, `<title>Breaking news</title>`)

	t.Run("hours", func(t *testing.T) {
		_, _, b := fetch(t, srv.URL+"/iptv/xmltv.xml?hours=1")
		require.Equal(t, 4, strings.Count(b, `channel="news.onair"`), b)
		xmltvValidate(t, b)
	})
	for _, q := range []string{"?hours=0", "?hours=-3", "?hours=1e9", "?hours=abc", "?hours=100000", "?days=2"} {
		t.Run("400 for "+q, func(t *testing.T) {
			code, _, body := fetch(t, srv.URL+"/iptv/xmltv.xml"+q)
			require.Equal(t, http.StatusBadRequest, code, body)
		})
	}
}

func TestProgrammes(t *testing.T) {
	h, _ := rig(t)
	news := h.channels()[1]
	ps, err := programmes(context.Background(), news, &assetCache{src: h.cfg.Assets}, t0, t0.Add(24*time.Hour))
	require.NoError(t, err)
	type row struct {
		start, end string
		title, sub string
		kind       engine.Kind
	}
	var got []row
	for _, p := range ps {
		got = append(got, row{p.Start.Format("15:04:05"), p.End.Format("15:04:05"), p.Title, p.SubTitle, p.Kind})
	}
	require.Equal(t, []row{
		{"20:00:00", "20:20:40", "Harbor Lights", "Fog Warning", engine.KindProgram},
		{"20:20:40", "20:40:40", "Harbor Lights", "Low Tide", engine.KindProgram},
		{"20:40:40", "20:55:40", "Harbor TV", "", engine.KindFiller},
		{"20:55:40", "22:25:40", "The Long Night", "", engine.KindProgram},
		{"22:25:40", "22:30:40", "Breaking news", "", engine.KindOverride},
	}, got)
	require.Equal(t, []string{"Drama"}, ps[0].Categories)
	require.Equal(t, "Harbor Lights, season 1, episode 2: Fog Warning.", ps[0].Description)
	require.Equal(t, []string{"Series"}, ps[1].Categories)
	require.Equal(t, []string{"Movie"}, ps[3].Categories)
	require.Equal(t, "A keeper stays on through the storm.", ps[3].Description, "the asset's own description")
	require.Equal(t, "PG-13", ps[3].Rating)
	require.Equal(t, []string{"Special"}, ps[4].Categories)
}

func TestGuideJSON(t *testing.T) {
	_, srv := rig(t)
	code, _, body := fetch(t, srv.URL+"/api/v1/guide?hours=2&channel=news")
	require.Equal(t, 200, code, body)
	var g struct {
		Hours    int            `json:"hours"`
		Channels []guideChannel `json:"channels"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &g))
	require.Equal(t, 2, g.Hours)
	require.Len(t, g.Channels, 1)
	require.Equal(t, "news.onair", g.Channels[0].TVGID)
	require.Len(t, g.Channels[0].Programmes, 4)

	code, _, _ = fetch(t, srv.URL+"/api/v1/guide")
	require.Equal(t, 200, code)
	code, _, body = fetch(t, srv.URL+"/api/v1/guide?channel=nope")
	require.Equal(t, 404, code, body)
	code, _, body = fetch(t, srv.URL+"/api/v1/guide?hours=48")
	require.Equal(t, 200, code)
	require.Contains(t, body, `"hours": 3`, "cut to the guide's reach")
	for _, q := range []string{"?hours=0", "?hours=100000", "?hours=x", "?what=1"} {
		code, _, body = fetch(t, srv.URL+"/api/v1/guide"+q)
		require.Equal(t, 400, code, q+": "+body)
	}
}

// TestHDHomeRun checks the emulation against golden files and against the
// fields Plex (its DVR setup reads discover.json and lineup.json) and
// Jellyfin (HdHomerunHost: DiscoverResponse and Channels) read.
func TestHDHomeRun(t *testing.T) {
	_, srv := rig(t)
	for _, p := range []string{"discover.json", "lineup.json", "lineup_status.json", "device.xml"} {
		code, _, body := fetch(t, srv.URL+"/"+p, "Host", "tuner.example:8080")
		require.Equal(t, 200, code, body)
		golden(t, "hdhr_"+p, body)
	}

	_, _, body := fetch(t, srv.URL+"/discover.json", "Host", "tuner.example:8080")
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &d))
	for _, k := range []string{"FriendlyName", "Manufacturer", "ModelNumber", "FirmwareName", "FirmwareVersion", "DeviceID", "DeviceAuth", "BaseURL", "LineupURL", "TunerCount"} {
		require.Contains(t, d, k, "discover.json lacks %s", k)
	}
	require.Equal(t, float64(2), d["TunerCount"], "the configured tuner count")
	require.Equal(t, "http://tuner.example:8080", d["BaseURL"])
	require.Equal(t, "http://tuner.example:8080/lineup.json", d["LineupURL"])
	require.Regexp(t, `^[0-9A-F]{8}$`, d["DeviceID"])

	_, _, body = fetch(t, srv.URL+"/lineup.json", "Host", "tuner.example:8080")
	var l []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &l))
	require.Len(t, l, 2)
	for _, e := range l {
		for _, k := range []string{"GuideNumber", "GuideName", "URL"} {
			require.IsType(t, "", e[k], "lineup entry %v: %s is a string", e, k)
		}
		require.NotContains(t, e["URL"], "?", "Plex appends its own query string")
		require.Regexp(t, `^http://tuner\.example:8080/channels/[^/?]+\.ts$`, e["URL"])
	}
	require.Equal(t, "4.1", l[0]["GuideNumber"])

	_, _, body = fetch(t, srv.URL+"/lineup_status.json")
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	require.Equal(t, float64(0), s["ScanInProgress"])
	require.Equal(t, float64(1), s["ScanPossible"])

	resp, err := http.Post(srv.URL+"/lineup.post?scan=start", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	resp, err = http.Post(srv.URL+"/lineup.post?scan=wipe", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 400, resp.StatusCode)
}

// TestDeviceID checks ids with libhdhomerun's checksum rule.
func TestDeviceID(t *testing.T) {
	table := [16]uint32{0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0}
	for _, seed := range []string{"onair", "", "living room", "x"} {
		var id uint32
		_, err := fmt.Sscanf(DeviceID(seed), "%08X", &id)
		require.NoError(t, err)
		var sum uint32
		for i := 7; i >= 0; i-- {
			n := (id >> (4 * i)) & 0xF
			if i%2 == 1 {
				n = table[n]
			}
			sum ^= n
		}
		require.Zero(t, sum, "DeviceID(%q) = %s fails the checksum", seed, DeviceID(seed))
		require.Equal(t, DeviceID(seed), DeviceID(seed), "stable")
	}
	require.Equal(t, "1234ABCD", New(Config{DeviceID: "1234ABCD"}).cfg.DeviceID)
	require.Equal(t, DeviceID("onair"), New(Config{DeviceID: "short"}).cfg.DeviceID)
}

func TestTuners(t *testing.T) {
	tuners := NewTuners(2)
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsTune(r) {
			started <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(tuners.Middleware(next))
	defer srv.Close()

	done := make(chan int, 3)
	for _, ch := range []string{"news", "sport", "news"} {
		go func() {
			resp, err := http.Get(srv.URL + "/channels/" + ch + ".ts")
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	<-started
	<-started
	<-started
	require.Equal(t, 2, tuners.InUse(), "two viewers of news share its tuner")

	code, hdr, body := fetch(t, srv.URL+"/channels/other.ts")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "all 2 tuners are in use")
	require.NotEmpty(t, hdr.Get("Retry-After"))
	// Other routes are not tunes.
	for _, p := range []string{"/channels/news/master.m3u8", "/channels/news/seg/1.ts", "/lineup.json"} {
		code, _, _ = fetch(t, srv.URL+p)
		require.Equal(t, 200, code, p)
	}

	close(release)
	require.Equal(t, 200, <-done)
	require.Equal(t, 200, <-done)
	require.Equal(t, 200, <-done)
	require.Eventually(t, func() bool { return tuners.InUse() == 0 }, 5*time.Second, 10*time.Millisecond)
	code, _, _ = fetch(t, srv.URL+"/channels/other.ts")
	require.Equal(t, 200, code, "a tuner is free again")

	require.Equal(t, DefaultTuners, NewTuners(0).Count())
	require.Equal(t, MaxTuners, NewTuners(1<<30).Count())
}

func TestLogos(t *testing.T) {
	h, srv := rig(t)
	code, hdr, body := fetch(t, srv.URL+"/iptv/logos/news.png")
	require.Equal(t, 200, code)
	require.Equal(t, "image/png", hdr.Get("Content-Type"))
	img, err := png.Decode(bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	require.Equal(t, logoW, img.Bounds().Dx())
	require.Equal(t, logoH, img.Bounds().Dy())
	if dir := os.Getenv("ONAIR_ARTIFACTS"); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "logo_news.png"), []byte(body), 0o644))
	}

	code, hdr, _ = fetch(t, srv.URL+"/iptv/logos/odd_one.png")
	require.Equal(t, http.StatusFound, code)
	require.Equal(t, "https://example.com/odd.png", hdr.Get("Location"))

	code, _, _ = fetch(t, srv.URL+"/iptv/logos/nope.png")
	require.Equal(t, 404, code)

	// A logo file from the channel file, relative to the channels directory.
	news := h.channels()[1].(*fakeChannel)
	news.cfg.Logo = "harbor.svg"
	require.Equal(t, srv.URL+"/iptv/logos/news.svg", h.logoURL(srv.URL, news.cfg))
	code, hdr, body = fetch(t, srv.URL+"/iptv/logos/news.svg")
	require.Equal(t, 200, code)
	require.Equal(t, "image/svg+xml", hdr.Get("Content-Type"))
	require.Contains(t, body, "<svg")
	// A missing file: the generated logo.
	news.cfg.Logo = "gone.png"
	code, hdr, _ = fetch(t, srv.URL+"/iptv/logos/news.png")
	require.Equal(t, 200, code)
	require.Equal(t, "image/png", hdr.Get("Content-Type"))
}

// FuzzM3UNames checks that no channel name or id breaks the playlist's format.
func FuzzM3UNames(f *testing.F) {
	for _, s := range []string{"Harbor TV", `Say "Hi", & <Bye>`, "a\nb", "x\r\n#EXTINF:-1,evil", ""} {
		f.Add(s, "id")
	}
	f.Fuzz(func(t *testing.T, name, id string) {
		if id == "" || strings.ContainsAny(id, "/") {
			return
		}
		ch := &fakeChannel{cfg: engine.ChannelConfig{ID: id, Number: "1", Name: name, Group: name}}
		h := New(Config{Channels: func() []Channel { return []Channel{ch} }, Clock: fixedClock{t0}})
		rec := httptest.NewRecorder()
		h.m3u(rec, httptest.NewRequest(http.MethodGet, "/iptv/channels.m3u", nil))
		lines := strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "#EXTINF:-1 ") || strings.HasPrefix(lines[2], "#") {
			t.Fatalf("name %q id %q broke the playlist:\n%s", name, id, rec.Body.String())
		}
	})
}
