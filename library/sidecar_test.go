package library

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCueSidecar(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []time.Duration
		err  string
	}{
		{"flow list", "cues: [1m0s, 2m10.5s]\n", []time.Duration{time.Minute, 130500 * time.Millisecond}, ""},
		{
			"block list, unsorted, duplicate", "cues:\n  - 30s\n  - 10s\n  - 30s\n",
			[]time.Duration{10 * time.Second, 30 * time.Second},
			"",
		},
		{"empty", "cues: []\n", []time.Duration{}, ""},
		{"empty file", "", []time.Duration{}, ""},
		{"number", "cues: [90]\n", nil, "ep.cue.yaml: cues[0]: 90 is not a Go duration"},
		{"bad duration", "cues: [1m, soon]\n", nil, `ep.cue.yaml: cues[1]: "soon" is not a Go duration`},
		{"negative", "cues: [-5s]\n", nil, "is negative"},
		{"unknown key", "cues: [1s]\nbreaks: 2\n", nil, "ep.cue.yaml:2:1: unknown field \"breaks\""},
		{"not yaml", "cues: [1s\n", nil, "ep.cue.yaml:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCueSidecar("/lib/shows/ep.cue.yaml", []byte(tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("cues = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseMetaSidecar(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want assetMeta
		err  string
	}{
		{
			"all keys", "kind: promo\ntitle: Big Night\nshow: Signal Hill\nseason: 2\nepisode: 3\ntags: [drama, late]\nrating: TV-PG\ndescription: \" The night of nights. \"\n",
			assetMeta{
				kind: KindPromo, title: "Big Night", show: "Signal Hill", season: 2, episode: 3,
				tags: []string{"drama", "late"}, rating: "TV-PG", desc: "The night of nights.",
			},
			"",
		},
		{"some keys", "title: Only Title\n", assetMeta{kind: KindEpisode, title: "Only Title", show: "Show", season: 1, episode: 2}, ""},
		{"unknown key", "title: x\nstars: 5\n", assetMeta{}, "ep.meta.yaml:2:1: unknown field \"stars\""},
		{"bad kind", "kind: trailer\n", assetMeta{}, `ep.meta.yaml: kind: "trailer" is not one of`},
		{"bad season", "season: -1\n", assetMeta{}, "season: -1 is out of range"},
		{"wrong type", "episode: three\n", assetMeta{}, "ep.meta.yaml:1:10:"},
		{"duplicate key", "title: a\ntitle: b\n", assetMeta{}, `ep.meta.yaml:2:1: mapping key "title" already defined`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			media := filepath.Join(dir, "shows", "Show", "Season 01", "ep.ts")
			meta := filepath.Join(dir, "shows", "Show", "Season 01", "ep.meta.yaml")
			writeFile(t, meta, []byte(tc.yaml))
			e := &walkEntry{path: media, rel: "shows/Show/Season 01/Show - S01E02 - Title.ts", metaPath: meta}
			got := deriveMeta(e)
			if tc.err != "" {
				if len(got.warnings) != 1 || !strings.Contains(got.warnings[0], tc.err) {
					t.Fatalf("warnings = %q, want one containing %q", got.warnings, tc.err)
				}
				if got.kind != KindEpisode || got.title != "Title" {
					t.Fatalf("an invalid sidecar changed the metadata: %+v", got)
				}
				return
			}
			if len(got.warnings) != 0 {
				t.Fatalf("warnings = %q", got.warnings)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("meta = %+v, want %+v", got, tc.want)
			}
		})
	}
}
