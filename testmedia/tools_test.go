package testmedia

import (
	"os"
	"os/exec"
	"runtime/debug"
	"testing"
)

// needTool returns the path of the first of names found on PATH. When none is
// found the test is skipped, or fails when ONAIR_REQUIRE_TOOLS=1 (as in CI).
func needTool(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not found on PATH (ONAIR_REQUIRE_TOOLS=1)", names[0])
	}
	t.Skipf("SKIP: %s not found", names[0])
	return ""
}

// raceEnabled reports whether the test binary was built with -race, under
// which generating the whole library is about 15 times slower.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
