package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
)

// version is stamped by the Makefile: -ldflags "-X main.version=...".
var version = "dev"

func versionCommand() *command {
	return &command{
		name:    "version",
		usage:   "onair version",
		summary: "print the version",
		flags: func(e env) (*flag.FlagSet, any) {
			return flag.NewFlagSet("version", flag.ContinueOnError), nil
		},
		run: func(_ context.Context, e env, fs *flag.FlagSet, _ any) error {
			if fs.NArg() > 0 {
				return usageError("unexpected argument %q", fs.Arg(0))
			}
			fmt.Fprintf(e.stdout, "onair %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
