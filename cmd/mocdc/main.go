// Command mocdc is the one binary of mocdc: capture from the MO store to
// Kafka, the sinks, the ledger tools, and the MO store tools for demos and
// tests. Run `mocdc --help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go exitOnSecondSignal(ctx)
	stopProfiles := startProfiles(log)
	err := dispatch(ctx, log, os.Args[1:])
	stopProfiles()
	switch {
	case err == nil, errors.Is(err, errHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "mocdc:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		writeUsage(os.Stderr)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "capture":
		return runCapture(ctx, log, rest)
	case "run":
		return runAll(ctx, log, rest)
	case "sink":
		return group("sink", rest, func(sub string, rest []string) error {
			switch sub {
			case "ledger":
				return runLedgerSink(ctx, log, rest)
			case "fk":
				return runSinkFK(ctx, log, rest)
			case "ad":
				return runSinkAD(ctx, log, rest)
			case "notify":
				return runSinkNotify(ctx, log, rest)
			}
			return runSinkMirror(ctx, log, rest)
		})
	case "ledger":
		return group("ledger", rest, func(sub string, rest []string) error {
			return runLedger(ctx, log, sub, rest)
		})
	case "status":
		return runStatus(ctx, rest, os.Stdout)
	case "config":
		return group("config", rest, func(_ string, rest []string) error { return configCheck(rest) })
	case "store":
		return group("store", rest, func(sub string, rest []string) error {
			return runStore(ctx, log, sub, rest)
		})
	case "help", "-h", "-help", "--help":
		writeUsage(os.Stdout)
		return errHelp
	case "version", "--version", "-version":
		fmt.Println(versionString())
		return nil
	}
	fmt.Fprintf(os.Stderr, "mocdc: unknown command %q\n\n", cmd)
	writeUsage(os.Stderr)
	return errUsage
}

func configCheck(args []string) error {
	fs := newFlagSet("config check")
	path := fs.String("config", "mocdc.yaml", "configuration file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	if err := cfg.checkFiles(os.ReadFile); err != nil {
		return fmt.Errorf("config %s:\n%w", *path, err)
	}
	fmt.Printf("%s: ok\n", *path)
	return nil
}

// exitOnSecondSignal exits at once on a signal after the first: the first
// stops mocdc cleanly (within the bound the README gives), a second one
// is for when waiting is not wanted.
func exitOnSecondSignal(first context.Context) {
	<-first.Done()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	<-again
	fmt.Fprintln(os.Stderr, "mocdc: second signal: exiting without finishing the clean stop")
	os.Exit(130)
}
