package hls

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test -update")
	require.Equal(t, string(want), string(got), "golden file %s differs (go test -update rewrites it)", path)
}

// harness is an Output over fake channels behind a real HTTP server on
// 127.0.0.1.
type harness struct {
	t     *testing.T
	clock *fakeClock
	reg   fakeRegistry
	out   *Output
	srv   *httptest.Server
}

// newHarness starts an Output with cfg over one channel "news"; setup may
// adjust the channel before it is served.
func newHarness(t *testing.T, cfg Config, now time.Time, setup func(ch *fakeChannel)) *harness {
	t.Helper()
	clock := newFakeClock(now)
	ch := newFakeChannel("news", clock)
	if setup != nil {
		setup(ch)
	}
	reg := fakeRegistry{"news": ch}
	if cfg.NewTimer == nil && cfg.Prefetch >= 0 {
		cfg.NewTimer = TimerFunc(clock.NewTimer)
	}
	out := New(cfg, reg, clock)
	mux := http.NewServeMux()
	out.Register(mux)
	srv := httptest.NewServer(mux)
	h := &harness{t: t, clock: clock, reg: reg, out: out, srv: srv}
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	h.srv.Close()
	require.NoError(h.t, h.out.Close())
}

func (h *harness) ch() *fakeChannel { return h.reg["news"] }

// reply is a response whose body has been read and closed.
type reply struct {
	StatusCode    int
	Header        http.Header
	ContentLength int64
}

// do sends a request and returns the response with its body read.
func (h *harness) do(method, path string, header map[string]string) (*reply, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, nil)
	require.NoError(h.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := h.srv.Client().Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(h.t, err)
	return &reply{StatusCode: res.StatusCode, Header: res.Header, ContentLength: res.ContentLength}, body
}

func (h *harness) get(path string) (*reply, []byte) {
	h.t.Helper()
	return h.do(http.MethodGet, path, nil)
}
