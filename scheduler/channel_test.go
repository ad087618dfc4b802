package scheduler

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var parseCases = []struct {
	name string
	yaml string
	err  string // substring of the error, "" for valid
}{
	{"valid", "number: 101\nname: Demo\nsegment: 4s\nplaylist:\n  - show: Demo\n    breaks:\n      - kind: ad\n        count: 2\n  - asset: ads/cola.ts\n    in: 00:00:01\n    out: 5s\n", ""},
	{"unknown key", "number: 1\nname: x\ncolour: red\nplaylist:\n  - kind: ad\n", "ch.yaml:3:1: unknown field \"colour\""},
	{"wrong type", "number: 1\nname: x\nplaylist: yes\n", "ch.yaml:3:"},
	{"missing number", "name: x\nplaylist:\n  - kind: ad\n", "number: required"},
	{"empty playlist", "number: 1\nname: x\nplaylist: []\n", "playlist: needs at least one step"},
	{"two sources", "number: 1\nname: x\nplaylist:\n  - kind: ad\n    show: Demo\n", "ch.yaml:4:"},
	{"bad kind", "number: 1\nname: x\nplaylist:\n  - kind: cartoon\n", "ch.yaml:4:11: kind: unknown kind \"cartoon\""},
	{"bad duration", "number: 1\nname: x\nplaylist:\n  - asset: a.ts\n    out: soon\n", "ch.yaml:5:"},
	{"out before in", "number: 1\nname: x\nplaylist:\n  - asset: a.ts\n    in: 10s\n    out: 5s\n", "out: must be after in"},
	{"absolute asset", "number: 1\nname: x\nplaylist:\n  - asset: /etc/passwd\n", "must be a path relative"},
	{"escaping asset", "number: 1\nname: x\nplaylist:\n  - asset: ../../x.ts\n", "must be a path relative"},
	{"segment too long", "number: 1\nname: x\nsegment: 1m\nplaylist:\n  - kind: ad\n", "ch.yaml:3:10: segment: must be between 1s and 30s"},
	{"not yaml", "number: [1\n", "ch.yaml:"},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("ch.yaml", []byte(tc.yaml))
			if tc.err == "" {
				require.NoError(t, err)
				require.Equal(t, "ch", c.ID)
				require.Equal(t, "101", c.Number)
				require.Equal(t, 4*time.Second, c.TargetDuration())
				require.Equal(t, time.Second, c.Playlist[1].In.D())
				return
			}
			require.Error(t, err)
			var fes Errors
			require.True(t, errors.As(err, &fes))
			require.Contains(t, err.Error(), tc.err)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.yaml))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse("f.yaml", data)
	})
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	write("a.yaml", "number: 1\nname: A\nplaylist:\n  - kind: ad\n")
	write("b.yaml", "number: 1\nname: B\nplaylist:\n  - kind: ad\n")
	write("c.yaml", "number: 3\nname: C\nbogus: 1\nplaylist:\n  - kind: ad\n")
	write("d.override.yaml", "whatever: 1\n")
	chans, errs := LoadDir(dir)
	require.Len(t, chans, 2, "a broken file leaves the others")
	require.Len(t, errs, 2)
	require.Contains(t, errs.Error(), "number 1 is also used by")
	require.Contains(t, errs.Error(), "c.yaml:3:1:")
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "01:30": 90 * time.Second, "1:00:00": time.Hour, "00:00:01.5": 1500 * time.Millisecond} {
		got, err := ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1s", "1:61", "a:b", "1:2:3:4", "1.5:00"} {
		_, err := ParseDuration(in)
		require.Error(t, err, in)
	}
}
