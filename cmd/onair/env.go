package main

import (
	"io"
	"os"
	"time"
)

// env is what a subcommand may touch of the outside world. Tests build one with
// buffers, a fixed environment and their own clock.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// tty reports whether stderr is a terminal (progress lines are redrawn in place).
	tty bool
}

func newEnv() env {
	tty := false
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		tty = true
	}
	return env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now, tty: tty}
}
