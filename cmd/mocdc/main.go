// Command mocdc is the one binary of mocdc: capture from the MO store to
// Kafka, the sinks, the ledger tools, and the MO store tools for demos and
// tests. Run `mocdc help` for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `mocdc – change data capture for OS2mo

Usage:
  mocdc capture --config FILE          tail the MO store and publish MO events to Kafka
  mocdc run --config FILE              capture plus the configured sinks (and the demo) in one process
  mocdc status --config FILE [--json]  slot lag, consumer lag per sink and mirror freshness; exit 1 on errors
  mocdc config check --config FILE     check a configuration file and name every wrong key or value
  mocdc sink ledger --config FILE      append every MO write and read to the audit ledger (mo.ledger)
  mocdc sink mirror --config FILE --target NAME [--rebuild]
                                       keep one SQL mirror target (OS2mo SQL export tables) up to date
  mocdc ledger keygen --out DIR        make the Ed25519 key pair that signs ledger checkpoints
  mocdc ledger verify --config FILE [--public-key FILE] [--topic T]
                                       check every hash link, sequence and signature of the ledger
  mocdc ledger query --config FILE [--uuid U] [--actor A] [--type T] [--kind read|write]
                     [--from T] [--to T] [--field F] [--format table|json]
                                       who wrote or read what, when
  mocdc store init --dsn DSN           create the MO store schema (idempotent)
  mocdc store seed --dsn DSN --persons N --seed S
                                       seed a demo municipality
  mocdc store churn --dsn DSN --rate R --duration D
                                       make realistic MO changes at a fixed rate

Run a subcommand with -h for its flags.
`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, log, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "mocdc:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "capture":
		return runCapture(ctx, log, rest)
	case "run":
		return runAll(ctx, log, rest)
	case "sink":
		if len(rest) == 0 {
			return fmt.Errorf("usage: mocdc sink ledger|mirror --config FILE ...")
		}
		switch rest[0] {
		case "ledger":
			return runLedgerSink(ctx, log, rest[1:])
		case "mirror":
			return runSinkMirror(ctx, log, rest[1:])
		}
		return fmt.Errorf("unknown sink %q\n\n%s", rest[0], usage)
	case "ledger":
		if len(rest) == 0 {
			return fmt.Errorf("usage: mocdc ledger keygen|verify|query ...")
		}
		return runLedger(ctx, log, rest[0], rest[1:])
	case "status":
		return runStatus(ctx, rest, os.Stdout)
	case "config":
		if len(rest) == 0 || rest[0] != "check" {
			return fmt.Errorf("usage: mocdc config check --config FILE")
		}
		return configCheck(rest[1:])
	case "store":
		if len(rest) == 0 {
			return fmt.Errorf("usage: mocdc store init|seed|churn ...")
		}
		return runStore(ctx, log, rest[0], rest[1:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

func configCheck(args []string) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	path := fs.String("config", "mocdc.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
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
