package library

import "testing"

func TestKindForFolder(t *testing.T) {
	for folder, want := range map[string]Kind{
		"shows": KindEpisode, "Shows": KindEpisode, "movies": KindMovie, "ads": KindAd, "bumpers": KindBumper,
		"promos": KindPromo, "slates": KindSlate, "slate": KindSlate, "filler": KindFiller,
		"news": KindProgram, "": KindProgram, "show": KindProgram,
	} {
		if got := KindForFolder(folder); got != want {
			t.Errorf("KindForFolder(%q) = %s, want %s", folder, got, want)
		}
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		rel  string
		want ParsedName
	}{
		{
			"shows/Show/Season 01/Show - S01E02 - Title.ts",
			ParsedName{KindEpisode, "Show", 1, 2, "Title"},
		},
		{
			"shows/Harbor Lights/Season 01/Harbor Lights - S01E04 - Homecoming.mp4",
			ParsedName{KindEpisode, "Harbor Lights", 1, 4, "Homecoming"},
		},
		{
			"shows/Show/Season 2/Show - s02e10.ts",
			ParsedName{KindEpisode, "Show", 2, 10, "Show - s02e10"},
		},
		{
			"shows/Show/Show - S01E02 - Title.ts",
			ParsedName{KindEpisode, "Show", 1, 2, "Title"},
		},
		{
			"shows/The.Show.S03E07.The.Title.mp4",
			ParsedName{KindEpisode, "The Show", 3, 7, "The Title"},
		},
		{
			"shows/Show/Season 01/Title Only.ts",
			ParsedName{KindEpisode, "Show", 1, 0, "Title Only"},
		},
		{
			"shows/Show/Specials/Show - S00E01 - Special.ts",
			ParsedName{KindEpisode, "Show", 0, 1, "Special"},
		},
		{
			"shows/Show/Season 01/Show - 1x05 - Five.ts",
			ParsedName{KindEpisode, "Show", 1, 5, "Five"},
		},
		{
			"shows/Show/Season 01/Show - S01E01E02 - Double.ts",
			ParsedName{KindEpisode, "Show", 1, 1, "Double"},
		},
		{
			"movies/The Long Broadcast (2026).mp4",
			ParsedName{KindMovie, "", 0, 0, "The Long Broadcast (2026)"},
		},
		{"ads/acme-coffee-30s.ts", ParsedName{KindAd, "", 0, 0, "acme-coffee-30s"}},
		{"bumpers/up_next.ts", ParsedName{KindBumper, "", 0, 0, "up next"}},
		{"promos/promo.ts", ParsedName{KindPromo, "", 0, 0, "promo"}},
		{"slate/standby.ts", ParsedName{KindSlate, "", 0, 0, "standby"}},
		{"slates/standby.ts", ParsedName{KindSlate, "", 0, 0, "standby"}},
		{"filler/loop.ts", ParsedName{KindFiller, "", 0, 0, "loop"}},
		{"news/2026-01-01 Evening.ts", ParsedName{KindProgram, "", 0, 0, "2026-01-01 Evening"}},
		{"clip.ts", ParsedName{KindProgram, "", 0, 0, "clip"}},
		{
			"Documentaries/Oceans/Season 03/Oceans - S03E01 - Deep.ts",
			ParsedName{KindProgram, "Oceans", 3, 1, "Deep"},
		},
		{"Show/Season 01/ep.ts", ParsedName{KindProgram, "Show", 1, 0, "ep"}},
		{"movies/Seven (1995).mkv", ParsedName{KindMovie, "", 0, 0, "Seven (1995)"}},
		{"movies/Sessions 2E.ts", ParsedName{KindMovie, "", 0, 0, "Sessions 2E"}},
	}
	for _, tc := range tests {
		t.Run(tc.rel, func(t *testing.T) {
			if got := ParseName(tc.rel); got != tc.want {
				t.Fatalf("ParseName(%q) = %+v, want %+v", tc.rel, got, tc.want)
			}
		})
	}
}
