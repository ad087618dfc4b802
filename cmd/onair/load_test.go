package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLoad runs `onair load` against a live server: viewers that play the
// channel without error, then the cold-tune measurement.
func TestLoad(t *testing.T) {
	t.Parallel()
	s := startServer(t, writeE2ELibrary(t), writeChannels(t, e2ePlaylist))

	e, out, errb := testEnv(nil)
	code := run(context.Background(), []string{"load", "--url", s.base, "--viewers", "3", "--duration", "5s"}, e)
	require.Equal(t, 0, code, "%s\n%s", out, errb)
	require.Contains(t, out.String(), "viewers 3, channels 1")
	require.Contains(t, out.String(), "errors 0, missed segments 0")
	require.Regexp(t, `segments [1-9]`, out.String())

	e, out, errb = testEnv(nil)
	code = run(context.Background(), []string{"load", "--url", s.base, "--tune"}, e)
	require.Equal(t, 0, code, "%s\n%s", out, errb)
	require.Contains(t, out.String(), "cold tune over 1 channels")

	e, out, errb = testEnv(nil)
	code = run(context.Background(), []string{"load", "--url", s.base, "--ts", "--viewers", "5", "--duration", "4s"}, e)
	require.Equal(t, 0, code, "%s\n%s", out, errb)
	require.Contains(t, out.String(), "kept up 5, behind or failed 0")

	e, _, errb = testEnv(nil)
	require.Equal(t, 2, run(context.Background(), []string{"load", "--viewers", "0"}, e), errb.String())
}
