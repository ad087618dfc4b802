package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/internal/syncbuf"
)

// testEnv returns an env with buffers, the given variables and a fixed clock.
func testEnv(vars map[string]string) (env, *syncbuf.Buffer, *syncbuf.Buffer) {
	out, errb := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	// The push outputs of servers started in tests listen on ephemeral ports
	// of 127.0.0.1 (RTSP over TCP only), unless a test says otherwise.
	pushDefaults := map[string]string{"ONAIR_RTSP": "127.0.0.1:0", "ONAIR_RTSP_UDP": "0", "ONAIR_WEBRTC_UDP": "127.0.0.1:0"}
	for k, v := range vars {
		pushDefaults[k] = v
	}
	vars = pushDefaults
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	return env{
		stdout: out, stderr: errb,
		getenv: func(k string) string { return vars[k] },
		now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			t0 = t0.Add(time.Millisecond)
			return t0
		},
	}, out, errb
}

func TestUsage(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout bool
	}{
		{name: "no args", args: nil, code: 2, stderr: "Commands:"},
		{name: "help", args: []string{"help"}, code: 0, stdout: "library scan"},
		{name: "help flag", args: []string{"--help"}, code: 0, stdout: "serve"},
		{name: "help serve", args: []string{"help", "serve"}, code: 0, stdout: "--http ADDR"},
		{name: "help library", args: []string{"help", "library"}, code: 0, stdout: "library list"},
		{name: "help library scan", args: []string{"help", "library", "scan"}, code: 0, stdout: "ONAIR_LIBRARY"},
		{name: "serve -h", args: []string{"serve", "-h"}, code: 0, stdout: "ONAIR_HTTP"},
		{name: "help unknown", args: []string{"help", "nope"}, code: 2, stderr: `unknown command "nope"`},
		{name: "unknown", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{name: "bad flag", args: []string{"serve", "--nope"}, code: 2, stderr: "flag provided but not defined: -nope"},
		{name: "group only", args: []string{"library"}, code: 2, stderr: "missing subcommand"},
		{name: "extra arg", args: []string{"version", "x"}, code: 2, stderr: `unexpected argument "x"`},
		{name: "bad kind", args: []string{"library", "list", "--kind", "cartoon"}, code: 2, stderr: `unknown kind "cartoon"`},
		{name: "bad size", args: []string{"testmedia", "--clip", "x.ts", "--size", "big"}, code: 2, stderr: "--size"},
		{name: "bad fps", args: []string{"testmedia", "--clip", "x.ts", "--fps", "fast"}, code: 2, stderr: "--fps"},
		{name: "bad ext", args: []string{"testmedia", "--clip", "x.avi"}, code: 2, stderr: ".ts or .mp4"},
		{name: "version", args: []string{"version"}, code: 0, stdout: "onair dev"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, out, errb := testEnv(nil)
			code := run(context.Background(), tc.args, e)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out, errb)
			if tc.stdout != "" {
				require.Contains(t, out.String(), tc.stdout)
			}
			if tc.stderr != "" {
				require.Contains(t, errb.String(), tc.stderr)
			}
		})
	}
}

func TestEnvironmentAndFlagPrecedence(t *testing.T) {
	e, _, _ := testEnv(map[string]string{"ONAIR_HTTP": "127.0.0.1:9999", "ONAIR_LIBRARY": "a, b", "ONAIR_DATA": "/srv/onair"})
	c := &common{}
	fs := newFlagSet("x", e, c, "http", "data", "library")
	require.NoError(t, parse(fs, nil))
	require.Equal(t, "127.0.0.1:9999", c.http)
	require.Equal(t, "/srv/onair", c.data)
	require.Equal(t, []string{"a", "b"}, c.library.values)

	c = &common{}
	fs = newFlagSet("x", e, c, "http", "data", "library")
	require.NoError(t, parse(fs, []string{"--http", ":1", "--library", "c", "--library", "d"}))
	require.Equal(t, ":1", c.http)
	require.Equal(t, "/srv/onair", c.data)
	require.Equal(t, []string{"c", "d"}, c.library.values, "flags replace the variable's list")

	e, _, _ = testEnv(nil)
	c = &common{}
	fs = newFlagSet("x", e, c, "http", "data", "library")
	require.NoError(t, parse(fs, nil))
	require.Equal(t, ":8080", c.http)
	require.Equal(t, "./data", c.data)
	require.Equal(t, []string{"./testmedia/library"}, c.library.values)
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string][2]int{"25": {25, 1}, "29.97": {30000, 1001}, "30000/1001": {30000, 1001}, "60": {60, 1}} {
		n, d, err := parseRate(in)
		require.NoError(t, err, in)
		require.Equal(t, want, [2]int{n, d}, in)
	}
	for _, in := range []string{"", "0", "-1", "a/b", "1/0", "999"} {
		_, _, err := parseRate(in)
		require.Error(t, err, in)
	}
	require.True(t, strings.HasPrefix(topUsage(commands()), "onair:"))
}
