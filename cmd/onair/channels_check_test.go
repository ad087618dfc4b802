package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChannelsCheck(t *testing.T) {
	root := smallLibrary(t)
	data := t.TempDir()
	e, _, errb := testEnv(nil)
	require.Equal(t, 0, run(context.Background(), []string{"library", "scan", "--data", data, "--library", root}, e), errb.String())

	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	write("good.yaml", "number: \"1\"\nname: Good\nplaylist:\n  - show: Demo\n    breaks:\n      - kind: ad\n")
	write("bad.yaml", "number: \"2\"\nname: Bad\nplaylist:\n  - show: Nope\n  - kind: filler\n  - asset: ads/none.ts\n")
	write("typo.yaml", "number: \"3\"\nname: Typo\nsegmnet: 4s\nplaylist:\n  - kind: ad\n")
	write("dup.yaml", "number: \"1\"\nname: Dup\nplaylist:\n  - kind: ad\n")

	e, out, errb := testEnv(nil)
	code := run(context.Background(), []string{"channels", "check", dir, "--data", data}, e)
	require.Equal(t, 1, code, errb.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		filepath.Join(dir, "typo.yaml") + `:3:1: unknown field "segmnet"`,
		filepath.Join(dir, "good.yaml") + ": number 1 is also used by " + filepath.Join(dir, "dup.yaml"),
		filepath.Join(dir, "bad.yaml") + `:4:11: show: no playable episode of "Nope" in the library (empty pool)`,
		filepath.Join(dir, "bad.yaml") + ":5:11: kind: no playable filler in the library (empty pool)",
		filepath.Join(dir, "bad.yaml") + `:6:12: asset: "ads/none.ts" is not a playable file of the library`,
	}
	require.ElementsMatch(t, want, lines)
	require.Contains(t, errb.String(), "5 problems")

	// The sample channels are valid (syntax; the sample library is not scanned here).
	e, out, errb = testEnv(nil)
	require.Equal(t, 0, run(context.Background(), []string{"channels", "check", filepath.Join("..", "..", "channels.d"), "--data", t.TempDir()}, e), out.String())
	require.Contains(t, errb.String(), "3 channels ok")
}
