package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
)

// command is one subcommand: its usage line, a summary, and how to run it.
type command struct {
	name    string
	usage   string
	summary string
	// help is extra text after the flags, may be empty.
	help string
	// flags builds the command's flag set so that help can list the flags.
	flags func(e env) (*flag.FlagSet, any)
	run   func(ctx context.Context, e env, fs *flag.FlagSet, opts any) error
}

// commands lists every subcommand by name. Nested ones are "library scan" etc.
func commands() map[string]*command {
	list := []*command{withOps(serveCommand()), configPrintCommand(), testmediaCommand(), libraryScanCommand(), libraryListCommand(), playoutShowCommand(), channelsCheckCommand(), remuxCommand(), loadCommand(), versionCommand()}
	m := make(map[string]*command, len(list))
	for _, c := range list {
		m[c.name] = c
	}
	return m
}

// groups are command names that only have subcommands.
var groups = map[string]string{
	"library":  "manage the media library",
	"playout":  "inspect channels' playout logs",
	"channels": "check channel files",
	"config":   "inspect the configuration",
}

func run(ctx context.Context, args []string, e env) int {
	cmds := commands()
	if len(args) == 0 {
		fmt.Fprint(e.stderr, topUsage(cmds))
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		if len(args) == 1 {
			fmt.Fprint(e.stdout, topUsage(cmds))
			return 0
		}
		name, _ := resolve(cmds, args[1:])
		if name == "" {
			fmt.Fprintf(e.stderr, "onair: unknown command %q\n\n%s", strings.Join(args[1:], " "), topUsage(cmds))
			return 2
		}
		if c, ok := cmds[name]; ok {
			fmt.Fprint(e.stdout, commandUsage(c, e))
		} else {
			fmt.Fprint(e.stdout, groupUsage(cmds, name))
		}
		return 0
	}
	name, rest := resolve(cmds, args)
	c, ok := cmds[name]
	if !ok {
		if name != "" { // a group without its subcommand
			fmt.Fprintf(e.stderr, "onair %s: missing subcommand\n\n%s", name, groupUsage(cmds, name))
			return 2
		}
		fmt.Fprintf(e.stderr, "onair: unknown command %q\nRun 'onair help' for the list of commands.\n", args[0])
		return 2
	}
	fs, opts := c.flags(e)
	if err := parse(fs, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, commandUsage(c, e))
			return 0
		}
		fmt.Fprintf(e.stderr, "onair %s: %v\nRun 'onair help %s' for usage.\n", c.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "), c.name)
		return 2
	}
	if err := c.run(ctx, e, fs, opts); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(e.stderr, "onair %s: %v\nRun 'onair help %s' for usage.\n", c.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "), c.name)
			return 2
		}
		if !errors.Is(err, errProblems) {
			fmt.Fprintf(e.stderr, "onair %s: %v\n", c.name, err)
		}
		return 1
	}
	return 0
}

// resolve finds the longest command name that prefixes args: "library scan" before "library".
func resolve(cmds map[string]*command, args []string) (string, []string) {
	if len(args) >= 2 {
		if _, ok := cmds[args[0]+" "+args[1]]; ok {
			return args[0] + " " + args[1], args[2:]
		}
	}
	if len(args) >= 1 {
		if _, ok := cmds[args[0]]; ok {
			return args[0], args[1:]
		}
		if _, ok := groups[args[0]]; ok {
			return args[0], args[1:]
		}
	}
	return "", args
}

func topUsage(cmds map[string]*command) string {
	var b strings.Builder
	b.WriteString("onair: a playout engine and channel server for 24x7 linear channels.\n\n")
	b.WriteString("Usage:\n  onair COMMAND [flags]\n\nCommands:\n")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-16s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintf(&b, "  %-16s %s\n", "help COMMAND", "show a command's flags and details")
	b.WriteString("\nEvery flag can also be set with an ONAIR_* variable (--http is ONAIR_HTTP);\na flag on the command line wins over the variable.\n")
	return b.String()
}

func groupUsage(cmds map[string]*command, group string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "onair %s: %s\n\nUsage:\n  onair %s SUBCOMMAND [flags]\n\nSubcommands:\n", group, groups[group], group)
	names := []string{}
	for n := range cmds {
		if strings.HasPrefix(n, group+" ") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-16s %s\n", n, cmds[n].summary)
	}
	return b.String()
}

func commandUsage(c *command, e env) string {
	var b strings.Builder
	fmt.Fprintf(&b, "onair %s: %s\n\nUsage:\n  %s\n", c.name, c.summary, c.usage)
	fs, _ := c.flags(e)
	if d := flagDefaults(fs); d != "" {
		b.WriteString("\nFlags:\n")
		b.WriteString(d)
	}
	if c.help != "" {
		b.WriteString("\n")
		b.WriteString(strings.TrimSpace(c.help))
		b.WriteString("\n")
	}
	return b.String()
}
