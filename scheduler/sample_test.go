package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/library"
	"onair/testmedia"
)

var update = flag.Bool("update", false, "rewrite the golden plans in testdata/golden")

// sampleEnv is the sample library of testmedia, scanned once per test binary.
type sampleEnv struct {
	dir   string
	root  string
	db    string
	store *library.Store
	snap  *LibrarySnapshot
	err   error
}

var (
	sampleOnce sync.Once
	sample     sampleEnv
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sample.store != nil {
		sample.store.Close()
	}
	if sample.dir != "" {
		os.RemoveAll(sample.dir)
	}
	os.Exit(code)
}

// sampleLibrary returns the scanned sample library and a snapshot of it.
func sampleLibrary(t testing.TB) *sampleEnv {
	t.Helper()
	sampleOnce.Do(func() {
		ctx := context.Background()
		sample.dir, sample.err = os.MkdirTemp("", "onair-scheduler-")
		if sample.err != nil {
			return
		}
		sample.root = filepath.Join(sample.dir, "library")
		if _, sample.err = testmedia.WriteSampleLibrary(sample.root, nil); sample.err != nil {
			return
		}
		sample.db = filepath.Join(sample.dir, "onair.db")
		sample.store, sample.err = library.OpenWithOptions(sample.db, library.Options{})
		if sample.err != nil {
			return
		}
		sum, err := sample.store.Scan(ctx, []string{sample.root}, nil)
		if err != nil {
			sample.err = err
			return
		}
		if len(sum.Problems) > 0 {
			sample.err = fmt.Errorf("scan problems: %v", sum.Problems)
			return
		}
		sample.snap, sample.err = Snapshot(ctx, sample.store)
	})
	require.NoError(t, sample.err)
	return &sample
}

// sampleChannels loads channels.d.
func sampleChannels(t testing.TB) []*Channel {
	t.Helper()
	chans, errs := LoadDir(filepath.Join("..", "channels.d"))
	require.Empty(t, errs)
	require.Len(t, chans, 3)
	return chans
}

// goldenStart is the fixed start of the golden plans and simulations.
var goldenStart = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// TestGoldenPlans compiles every sample channel for 7 days from a fixed
// start and compares the guide (one line per EPG group, with what it holds)
// and a digest of every placed item with testdata/golden/<id>.txt.
// Regenerate with go test ./scheduler -run GoldenPlans -update.
func TestGoldenPlans(t *testing.T) {
	env := sampleLibrary(t)
	ctx := context.Background()
	for _, ch := range sampleChannels(t) {
		t.Run(ch.ID, func(t *testing.T) {
			p := env.snap.Planner(ch)
			items, err := Compile(ctx, p, env.snap.Assets(), engine.Segmenting{}, goldenStart, 7*24*time.Hour)
			require.NoError(t, err)
			got := goldenText(ch, items)
			// Deterministic: a second compile gives the same plan.
			again, err := Compile(ctx, env.snap.Planner(ch), env.snap.Assets(), engine.Segmenting{}, goldenStart, 7*24*time.Hour)
			require.NoError(t, err)
			require.Equal(t, got, goldenText(ch, again))
			path := filepath.Join("testdata", "golden", ch.ID+".txt")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./scheduler -run GoldenPlans -update")
			if string(want) != got {
				t.Errorf("%s differs from the compiled plan (run with -update and review the diff)\n%s", path, firstDiff(string(want), got))
			}
		})
	}
}

// goldenText is a channel's plan as guide lines: start, length, kind and
// title of each EPG group and the kinds of its items; headed by a digest of
// the full item list (every start, range and asset).
func goldenText(ch *Channel, items []engine.Item) string {
	// Asset ids (in EPG groups) depend on the scan order: number the groups instead.
	norm := slices.Clone(items)
	g := 0
	for i := range norm {
		if i > 0 && items[i].EPGGroup != items[i-1].EPGGroup {
			g++
		}
		norm[i].EPGGroup = strconv.Itoa(g)
	}
	full := FormatPlan(norm, goldenStart, ch.Location())
	sum := sha256.Sum256([]byte(full))
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s (%s): 7 days from %s, %d items, items sha256 %s\n", ch.Number, ch.Name, ch.ID,
		goldenStart.In(ch.Location()).Format(time.RFC3339), len(items), hex.EncodeToString(sum[:8]))
	for i := 0; i < len(items); {
		j := i
		var parts []string
		for j < len(items) && items[j].EPGGroup == items[i].EPGGroup {
			parts = append(parts, kindLetter[items[j].Kind])
			j++
		}
		first := items[i]
		d := items[j-1].End() - first.Start
		for k := i; k < j; k++ {
			if items[k].Kind == engine.KindProgram {
				first.Kind, first.Title = items[k].Kind, items[k].Title
				break
			}
		}
		start := goldenStart.Add(engine.TicksToDuration(first.Start)).In(ch.Location())
		fmt.Fprintf(&b, "%s %9s %-7s %-36s %s\n", start.Format("01-02 15:04:05.000"), fmtTicks(d), first.Kind, first.Title, strings.Join(parts, ""))
		i = j
	}
	return b.String()
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n-%s\n+%s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(al), len(bl))
}

var kindLetter = map[engine.Kind]string{
	engine.KindProgram: "P", engine.KindAd: "a", engine.KindBumper: "b", engine.KindPromo: "m",
	engine.KindFiller: "f", engine.KindSlate: "s", engine.KindOverride: "o",
}
