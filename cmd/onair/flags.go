package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errUsage marks a command-line mistake: the command exits 2.
var errUsage = errors.New("usage error")

// usageError wraps a message so that run exits 2 and prints it with a hint.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// listFlag is a repeatable string flag. Values from the environment are replaced,
// not extended, by the first value given on the command line.
type listFlag struct {
	values   []string
	fromArgs bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

func (l *listFlag) Set(v string) error {
	if !l.fromArgs {
		l.values = nil
		l.fromArgs = true
	}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			l.values = append(l.values, p)
		}
	}
	return nil
}

// common holds the flags shared by every subcommand that uses them, each with
// its ONAIR_* variable (see the contracts table in DESIGN.md).
type common struct {
	http       string
	rtsp       string
	data       string
	channels   string
	library    listFlag
	admin      string
	rtspUDP    string
	webrtcUDP  string
	tuners     string
	guideHours string
}

// flagSpec is one shared flag: name, environment variable, default, help.
type flagSpec struct {
	name, envVar, def, help string
}

var commonSpecs = map[string]flagSpec{
	"http":        {"http", "ONAIR_HTTP", ":8080", "HTTP listen address"},
	"rtsp":        {"rtsp", "ONAIR_RTSP", ":8554", "RTSP listen address"},
	"data":        {"data", "ONAIR_DATA", "./data", "data directory (SQLite database at DIR/onair.db, caches)"},
	"channels":    {"channels", "ONAIR_CHANNELS", "./channels.d", "channel files directory"},
	"library":     {"library", "ONAIR_LIBRARY", "./testmedia/library", "library root, repeatable (env: comma-separated)"},
	"rtsp-udp":    {"rtsp-udp", "ONAIR_RTSP_UDP", "8000", "RTSP UDP port of RTP (RTCP on the next port); 0 disables RTSP over UDP"},
	"webrtc-udp":  {"webrtc-udp", "ONAIR_WEBRTC_UDP", "8189", "WebRTC (WHEP) ICE UDP port, one for every peer"},
	"tuners":      {"tuners", "ONAIR_TUNERS", "4", "HDHomeRun tuners: concurrent continuous-TS streams (/channels/{id}.ts) allowed"},
	"guide-hours": {"guide-hours", "ONAIR_GUIDE_HOURS", "48", "hours of programmes in the XMLTV guide (/iptv/xmltv.xml)"},
	"admin-token": {"admin-token", "ONAIR_ADMIN_TOKEN", "", "bearer token of the admin API routes (overrides); empty: only clients on this machine"},
}

// newFlagSet makes a flag set for a subcommand with the named shared flags,
// its defaults taken from the environment where set.
func newFlagSet(name string, e env, c *common, shared ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, n := range shared {
		s := commonSpecs[n]
		def := s.def
		if v := e.getenv(s.envVar); v != "" {
			def = v
		}
		help := fmt.Sprintf("%s (env %s)", s.help, s.envVar)
		switch n {
		case "http":
			fs.StringVar(&c.http, n, def, help)
		case "rtsp":
			fs.StringVar(&c.rtsp, n, def, help)
		case "data":
			fs.StringVar(&c.data, n, def, help)
		case "channels":
			fs.StringVar(&c.channels, n, def, help)
		case "rtsp-udp":
			fs.StringVar(&c.rtspUDP, n, def, help)
		case "webrtc-udp":
			fs.StringVar(&c.webrtcUDP, n, def, help)
		case "admin-token":
			fs.StringVar(&c.admin, n, def, help)
		case "tuners":
			fs.StringVar(&c.tuners, n, def, help)
		case "guide-hours":
			fs.StringVar(&c.guideHours, n, def, help)
		case "library":
			for _, p := range strings.Split(def, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.library.values = append(c.library.values, p)
				}
			}
			fs.Var(&c.library, n, help)
		}
	}
	return fs
}

// parse parses args and turns flag errors into usage errors. A request for
// help returns flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%s", err.Error())
	}
	return nil
}

// flagDefaults renders a flag set's flags for help text.
func flagDefaults(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(&b, " %s", strings.ToUpper(name))
		}
		fmt.Fprintf(&b, "\n        %s", usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(&b, " (default %q)", f.DefValue)
		}
		b.WriteString("\n")
	})
	return b.String()
}

// flagsFirst moves flags given after positional arguments in front of them
// ("playout show news --hours 3"), so both orders work. "--" ends the flags.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(flags, pos...)
}
