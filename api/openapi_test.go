package api_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"

	"onair/api"
	"onair/api/iptv"
	"onair/api/web"
	"onair/engine"
)

type clock struct{}

func (clock) Now() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }

type channels struct{}

func (channels) List() []*engine.Channel            { return nil }
func (channels) Get(string) (*engine.Channel, bool) { return nil, false }

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// documented reads api/openapi.yaml: "METHOD /path" of every operation.
func documented(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."), "openapi: %q", doc.OpenAPI)
	out := map[string]bool{}
	for p, item := range doc.Paths {
		require.True(t, strings.HasPrefix(p, "/api/v1/"), "%s is not under /api/v1", p)
		for m, v := range item {
			if m == "parameters" {
				continue
			}
			op, ok := v.(map[string]any)
			require.True(t, ok, "%s %s is not an operation object", m, p)
			require.Contains(t, methods, m, "%s: unknown key %s", p, m)
			require.Contains(t, op, "responses", "%s %s has no responses", m, p)
			require.Contains(t, op, "operationId", "%s %s has no operationId", m, p)
			out[strings.ToUpper(m)+" "+p] = true
		}
	}
	return out
}

// routeLiteral matches a ServeMux pattern of the API in Go source.
var routeLiteral = regexp.MustCompile(`"((?:GET|POST|PUT|PATCH|DELETE|HEAD) /api/v1/[^"]*)"`)

// registered finds the /api/v1 routes the server's code registers: the
// patterns in the repository's Go files.
func registered(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range routeLiteral.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = p
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestOpenAPIMatchesRouter checks api/openapi.yaml against the router:
// every documented operation reaches a handler registered for exactly that
// method and path (not the /api/ fallback), and every /api/v1 route in the
// code is documented.
func TestOpenAPIMatchesRouter(t *testing.T) {
	var mux *http.ServeMux
	ip := iptv.New(iptv.Config{Clock: clock{}})
	s := api.New(api.Config{
		Channels: channels{}, Clock: clock{},
		Routes: []func(*http.ServeMux){ip.Register, web.New().Register, func(m *http.ServeMux) { mux = m }},
	})
	require.NotNil(t, s)
	require.NotNil(t, mux)

	docs := documented(t)
	require.NotEmpty(t, docs)
	param := regexp.MustCompile(`\{[^}]+\}`)
	for op := range docs {
		method, path, _ := strings.Cut(op, " ")
		req := httptest.NewRequest(method, param.ReplaceAllString(path, "x"), nil)
		_, pattern := mux.Handler(req)
		require.Equal(t, op, pattern, "documented %s is served by %q", op, pattern)
	}

	code := registered(t)
	var missing []string
	for route, file := range code {
		if !docs[route] {
			missing = append(missing, route+" ("+file+")")
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "routes not in api/openapi.yaml")
	for op := range docs {
		require.Contains(t, code, op, "documented %s is registered nowhere in the code", op)
	}
}
