package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// The configuration file, onair.yaml, is a map of `onair serve` flag names to
// values (a list for a repeatable flag):
//
//	http: ":8080"
//	data: /var/lib/onair
//	library: [/srv/media/shows, /srv/media/ads]
//	log-format: json
//
// Precedence, highest first: a flag on the command line, its ONAIR_*
// variable, the file, the default. Every flag of serve is a key, so a flag
// added to serve is a key with no change here. A key that is no flag is an
// error, FILE:LINE:COL.

// defaultConfigFile is read when it exists and no --config is given.
const defaultConfigFile = "onair.yaml"

// configEntry is one key of the file.
type configEntry struct {
	key    string
	values []string
	list   bool
	line   int
	col    int
}

// configFileError is a problem in the file at a position.
func configFileError(file string, line, col int, format string, args ...any) error {
	return fmt.Errorf("%s:%d:%d: %s", file, line, col, fmt.Sprintf(format, args...))
}

// readConfigFile parses file into entries, in file order.
func readConfigFile(file string, data []byte) ([]configEntry, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []configEntry
	seen := map[string]bool{}
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		body := doc.Body
		if c, ok := body.(*ast.CommentNode); ok && c != nil {
			continue
		}
		var values []*ast.MappingValueNode
		switch b := body.(type) {
		case *ast.MappingNode:
			values = b.Values
		case *ast.MappingValueNode:
			values = []*ast.MappingValueNode{b}
		case *ast.NullNode:
			continue
		default:
			p := body.GetToken().Position
			return nil, configFileError(file, p.Line, p.Column, "the file must be a map of flag names to values")
		}
		for _, mv := range values {
			kt := mv.Key.GetToken()
			key := kt.Value
			if seen[key] {
				return nil, configFileError(file, kt.Position.Line, kt.Position.Column, "duplicate key %q", key)
			}
			seen[key] = true
			e := configEntry{key: key, line: kt.Position.Line, col: kt.Position.Column}
			switch v := mv.Value.(type) {
			case *ast.SequenceNode:
				e.list = true
				for _, item := range v.Values {
					s, err := scalar(file, item)
					if err != nil {
						return nil, err
					}
					e.values = append(e.values, s)
				}
			default:
				s, err := scalar(file, mv.Value)
				if err != nil {
					return nil, err
				}
				e.values = []string{s}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// scalar is a scalar node's text.
func scalar(file string, n ast.Node) (string, error) {
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "", nil
	case *ast.StringNode:
		return v.Value, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.LiteralNode:
		if l, ok := v.(*ast.LiteralNode); ok {
			return strings.TrimRight(l.Value.Value, "\n"), nil
		}
		return v.GetToken().Value, nil
	default:
		p := n.GetToken().Position
		return "", configFileError(file, p.Line, p.Column, "expected a value or a list of values")
	}
}

// configSource says where a flag's effective value came from.
type configSource string

const (
	sourceDefault configSource = "default"
	sourceFile    configSource = "file"
	sourceEnv     configSource = "env"
	sourceFlag    configSource = "flag"
)

// envVarOf is the ONAIR_* variable of a flag: the shared spec's, else
// ONAIR_ and the name in capitals with '-' as '_'.
func envVarOf(name string) string {
	if s, ok := commonSpecs[name]; ok && s.envVar != "" {
		return s.envVar
	}
	return "ONAIR_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// appliedConfig is the outcome of applyConfig: the file read (or "") and each
// flag's source.
type appliedConfig struct {
	file    string
	sources map[string]configSource
}

// applyConfig sets the flags of fs (already parsed from the command line)
// from the configuration file, below command-line flags and ONAIR_*
// variables. The file is --config's (which must exist), else ./onair.yaml
// when it exists.
func applyConfig(fs *flag.FlagSet, e env) (appliedConfig, error) {
	res := appliedConfig{sources: map[string]configSource{}}
	onCmd := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCmd[f.Name] = true })
	fs.VisitAll(func(f *flag.Flag) {
		switch {
		case onCmd[f.Name]:
			res.sources[f.Name] = sourceFlag
		case e.getenv(envVarOf(f.Name)) != "":
			res.sources[f.Name] = sourceEnv
		default:
			res.sources[f.Name] = sourceDefault
		}
	})
	file := ""
	explicit := false
	if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
		file, explicit = f.Value.String(), true
	} else if _, err := os.Stat(defaultConfigFile); err == nil {
		file = defaultConfigFile
	}
	if file == "" {
		return res, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return res, nil
		}
		return res, fmt.Errorf("configuration file: %w", err)
	}
	res.file = file
	entries, err := readConfigFile(file, data)
	if err != nil {
		return res, err
	}
	for _, ent := range entries {
		f := fs.Lookup(ent.key)
		if f == nil || ent.key == "config" || ent.key == "show-secrets" {
			return res, configFileError(file, ent.line, ent.col, "unknown key %q (keys are the flags of onair serve: %s)", ent.key, strings.Join(flagNames(fs), ", "))
		}
		_, isList := f.Value.(*listFlag)
		if ent.list && !isList {
			return res, configFileError(file, ent.line, ent.col, "%s: takes one value, not a list", ent.key)
		}
		if res.sources[ent.key] != sourceDefault {
			continue // a flag or a variable wins
		}
		if isList {
			// The file replaces the default list.
			f.Value.(*listFlag).values = nil
		}
		for _, v := range ent.values {
			if err := fs.Set(ent.key, v); err != nil {
				return res, configFileError(file, ent.line, ent.col, "%s: %v", ent.key, err)
			}
		}
		if isList {
			f.Value.(*listFlag).fromArgs = false
		}
		res.sources[ent.key] = sourceFile
	}
	return res, nil
}

// flagNames lists fs's flags but --config, sorted.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" && f.Name != "show-secrets" {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	return names
}

// secretKey reports whether a key's value is hidden by config print.
func secretKey(name string) bool {
	return strings.Contains(name, "token") || strings.Contains(name, "password") || strings.Contains(name, "secret")
}

// writeEffectiveConfig writes fs's values as an onair.yaml, each with its
// source in a comment.
func writeEffectiveConfig(b *strings.Builder, fs *flag.FlagSet, ac appliedConfig, showSecrets bool) {
	if ac.file != "" {
		fmt.Fprintf(b, "# effective configuration of onair serve; file %s\n", ac.file)
	} else {
		b.WriteString("# effective configuration of onair serve; no configuration file\n")
	}
	b.WriteString("# precedence: flag > ONAIR_* variable > file > default\n")
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		src := string(ac.sources[f.Name])
		if ac.sources[f.Name] == sourceEnv {
			src += " " + envVarOf(f.Name)
		}
		val := f.Value.String()
		if secretKey(f.Name) && val != "" && !showSecrets {
			fmt.Fprintf(b, "%s: %q # %s (hidden; --show-secrets shows it)\n", f.Name, "<hidden>", src)
			return
		}
		if l, ok := f.Value.(*listFlag); ok {
			items := make([]string, len(l.values))
			for i, v := range l.values {
				items[i] = strconv.Quote(v)
			}
			fmt.Fprintf(b, "%s: [%s] # %s\n", f.Name, strings.Join(items, ", "), src)
			return
		}
		fmt.Fprintf(b, "%s: %s # %s\n", f.Name, strconv.Quote(val), src)
	})
}

// configPrintCommand is `onair config print`: the effective configuration of
// `onair serve` with the same flags, variables and file.
func configPrintCommand() *command {
	serve := withOps(serveCommand())
	return &command{
		name:    "config print",
		usage:   "onair config print [--config FILE] [--show-secrets] [serve flags...]",
		summary: "print the effective configuration of onair serve (and where each value comes from)",
		help: `Keys are the flags of onair serve. Precedence, highest first: a flag on the
command line, its ONAIR_* variable, the configuration file (--config FILE,
else ./onair.yaml when it exists), the default. The output is itself a valid
onair.yaml. An unknown key in the file is an error (FILE:LINE:COL).`,
		flags: func(e env) (*flag.FlagSet, any) {
			fs, opts := serve.flags(e)
			show := fs.Bool("show-secrets", false, "print secret values (tokens) instead of hiding them")
			return fs, &configPrintOpts{serve: opts, show: show}
		},
		run: func(_ context.Context, e env, fs *flag.FlagSet, opts any) error {
			o := opts.(*configPrintOpts)
			if fs.NArg() > 0 {
				return usageError("unexpected argument %q", fs.Arg(0))
			}
			ac, err := applyConfig(fs, e)
			if err != nil {
				return err
			}
			// --show-secrets is config print's own flag, not a key.
			var b strings.Builder
			sub := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.VisitAll(func(f *flag.Flag) {
				if f.Name != "show-secrets" {
					sub.Var(f.Value, f.Name, f.Usage)
				}
			})
			writeEffectiveConfig(&b, sub, ac, *o.show)
			fmt.Fprint(e.stdout, b.String())
			return nil
		},
	}
}

type configPrintOpts struct {
	serve any
	show  *bool
}
