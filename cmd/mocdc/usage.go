package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// command is one leaf command: its place ("sink mirror"), its synopsis and
// what it does. The top-level usage, each group's usage (`mocdc sink
// --help`) and each command's own usage are made from this one table, so
// they cannot disagree.
type command struct {
	path     string
	synopsis string
	about    string
}

var commands = []command{
	{"capture", "--config FILE", "tail the MO store and publish MO events to Kafka"},
	{"run", "--config FILE", "capture plus the configured sinks (and the demo) in one process"},
	{"status", "--config FILE [--json] [--timeout D]", "slot lag, consumer lag per sink and mirror freshness; exit 1 on errors"},
	{"config check", "--config FILE", "check a configuration file and name every wrong key or value"},
	{"sink ledger", "--config FILE", "append every MO write and read to the audit ledger (mo.ledger)"},
	{"sink fk", "--config FILE [--resync]", "keep FK Organisation in step with MO through OS2sync (docs/fk.md)"},
	{"sink ad", "--config FILE [--dry-run]", "keep Active Directory accounts in step with MO over LDAPS (docs/ad.md)"},
	{"sink notify", "--config FILE", "mail OS2mo's alerts (vacant manager, IT user, missing relation) once each (docs/notify.md)"},
	{"sink mirror", "--config FILE --target NAME [--rebuild]", "keep one SQL mirror target (OS2mo SQL export tables) up to date"},
	{"ledger keygen", "--out DIR", "make the Ed25519 key pair that signs ledger checkpoints"},
	{"ledger verify", "--config FILE [--public-key FILE] [--topic T]", "check every hash link, sequence and signature of the ledger"},
	{"ledger query", "--config FILE [--uuid U] [--actor A] [--type T] [--kind read|write] [--from T] [--to T] [--field F] [--format table|json]", "who wrote or read what, when"},
	{"store init", "[--dsn DSN]", "create the MO store schema (idempotent; for demos and tests)"},
	{"store seed", "[--dsn DSN] [--persons N] [--seed S]", "seed a deterministic demo municipality"},
	{"store churn", "[--dsn DSN] [--rate R] [--duration D] [--seed S]", "make realistic MO changes at a fixed rate"},
}

// groups are the commands that only hold subcommands.
var groups = []string{"config", "sink", "ledger", "store"}

var (
	// errHelp: the usage was printed on request (--help, -h, help); exit 0.
	errHelp = errors.New("help shown")
	// errUsage: the command line was wrong and the usage was printed to
	// stderr; exit 2.
	errUsage = errors.New("usage shown")
)

func lookupCommand(path string) command {
	for _, c := range commands {
		if c.path == path {
			return c
		}
	}
	panic("mocdc: no usage entry for command " + path)
}

// writeCommands lists the commands under prefix ("" for all).
func writeCommands(w io.Writer, prefix string) {
	for _, c := range commands {
		if prefix != "" && !strings.HasPrefix(c.path, prefix+" ") {
			continue
		}
		fmt.Fprintf(w, "  mocdc %s %s\n        %s\n", c.path, c.synopsis, c.about)
	}
}

func writeUsage(w io.Writer) {
	fmt.Fprint(w, "mocdc – change data capture for OS2mo\n\nUsage:\n")
	writeCommands(w, "")
	fmt.Fprint(w, "  mocdc --version\n        print the version and commit\n\n")
	fmt.Fprint(w, "Run a command with --help for its flags, e.g. mocdc sink mirror --help.\n")
}

func writeGroupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage: mocdc %s COMMAND [flags]\n\nCommands:\n", group)
	writeCommands(w, group)
	fmt.Fprintf(w, "\nRun a command with --help for its flags, e.g. mocdc %s --help.\n", firstOf(group))
}

func firstOf(group string) string {
	for _, c := range commands {
		if strings.HasPrefix(c.path, group+" ") {
			return c.path
		}
	}
	return group
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// group dispatches `mocdc GROUP SUB ...`: with no subcommand the group's
// usage goes to stderr (exit 2), with --help to stdout (exit 0).
func group(name string, args []string, run func(sub string, rest []string) error) error {
	if len(args) == 0 {
		fmt.Fprintf(os.Stderr, "mocdc %s: which command?\n\n", name)
		writeGroupUsage(os.Stderr, name)
		return errUsage
	}
	if isHelp(args[0]) {
		writeGroupUsage(os.Stdout, name)
		return errHelp
	}
	for _, c := range commands {
		if c.path == name+" "+args[0] {
			return run(args[0], args[1:])
		}
	}
	fmt.Fprintf(os.Stderr, "mocdc %s: unknown command %q\n\n", name, args[0])
	writeGroupUsage(os.Stderr, name)
	return errUsage
}

// newFlagSet makes the flag set of the command at path; its usage is the
// command's synopsis, what it does, and its flags.
func newFlagSet(path string) *flag.FlagSet {
	c := lookupCommand(path)
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: mocdc %s %s\n\n%s\n\nFlags:\n", c.path, c.synopsis, capitalise(c.about))
		fs.PrintDefaults()
	}
	return fs
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// parseFlags parses a command's flags. --help or -h prints its usage on
// stdout and returns errHelp; a wrong flag or a stray argument prints the
// error and the usage on stderr and returns errUsage. Nothing else (config,
// environment, DSN) is needed for either.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = os.Stdout.Write(buf.Bytes())
		return errHelp
	case err != nil:
		_, _ = os.Stderr.Write(buf.Bytes())
		return errUsage
	case fs.NArg() > 0:
		fmt.Fprintf(&buf, "mocdc %s: unexpected argument %q (every option is a flag: --name value)\n\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		_, _ = os.Stderr.Write(buf.Bytes())
		return errUsage
	}
	return nil
}

// version and commit are set at build time with
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.commit=$(git rev-parse HEAD)"
//
// When they are not, the Go toolchain's build information fills them in
// (the module version, and the VCS revision `go build` records in a
// checkout).
var version, commit string

func versionString() string {
	v, c, when, dirty, goVersion := version, commit, "", false, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	out := "mocdc " + v
	if c == "" {
		out += " commit unknown (built without VCS information)"
	} else {
		out += " commit " + c
		if when != "" {
			out += " (" + when + ")"
		}
		if dirty {
			out += " with uncommitted changes"
		}
	}
	if goVersion != "" {
		out += " " + goVersion
	}
	return out
}
