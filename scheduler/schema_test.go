package scheduler

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// yamlKeys lists the YAML keys of a struct type's fields.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		keys = append(keys, tag)
	}
	sort.Strings(keys)
	return keys
}

// TestSchemaMatchesTypes: every YAML key of the channel file types is in the
// schema and the schema has no key the types lack.
func TestSchemaMatchesTypes(t *testing.T) {
	var s struct {
		Properties map[string]any `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(ChannelSchema, &s))
	props := func(m map[string]any) []string {
		var k []string
		for p := range m {
			k = append(k, p)
		}
		sort.Strings(k)
		return k
	}
	require.Equal(t, yamlKeys(reflect.TypeFor[Channel]()), props(s.Properties), "channel")
	for def, typ := range map[string]reflect.Type{
		"profile": reflect.TypeFor[Profile](), "step": reflect.TypeFor[Step](), "pool": reflect.TypeFor[Pool](),
		"block": reflect.TypeFor[Block](), "breaks": reflect.TypeFor[Breaks](), "filler": reflect.TypeFor[Filler](),
	} {
		require.Equal(t, yamlKeys(typ), props(s.Defs[def].Properties), def)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ChannelSchema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("channel.schema.json", doc))
	sch, err := c.Compile("channel.schema.json")
	require.NoError(t, err)
	return sch
}

func yamlToJSONValue(t *testing.T, src []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(src)
	require.NoError(t, err)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	require.NoError(t, err)
	return v
}

// TestSchemaValidatesSamples: the sample channels validate; files the loader
// refuses for unknown keys or wrong types fail the schema too.
func TestSchemaValidatesSamples(t *testing.T) {
	sch := compileSchema(t)
	names, err := filepath.Glob(filepath.Join("..", "channels.d", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, name := range names {
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		require.NoError(t, sch.Validate(yamlToJSONValue(t, src)), name)
	}
	for _, bad := range []string{
		"number: 1\nname: x\ncolour: red\nplaylist:\n  - kind: ad\n",
		"number: 1\nname: x\npools:\n  p: {kind: ad}\nblocks:\n  - pool: p\n    order: sideways\n",
		"number: 1\nname: x\npools:\n  p: {kind: ad, rating: PG}\nblocks:\n  - pool: p\n    flood: true\n",
		"number: 1\nname: x\npools:\n  p: {kind: ad}\nblocks:\n  - pool: p\n    flood: yes please\n",
	} {
		require.Error(t, sch.Validate(yamlToJSONValue(t, []byte(bad))), bad)
	}
}
