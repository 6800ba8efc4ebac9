package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/ledger"
)

// newLedgerBuilder builds the audit ledger builder that cfg describes,
// registering its metrics on reg. `mocdc sink ledger` runs it; `mocdc run`
// or an end-to-end test can run it beside capture.
func newLedgerBuilder(cfg *Config, log *slog.Logger, reg prometheus.Registerer) (*ledger.Builder, error) {
	if cfg.Ledger.PrivateKeyFile == "" {
		return nil, errors.New("ledger.private_key_file is empty: make a key pair with `mocdc ledger keygen --out DIR` and set it to DIR/" + ledger.PrivateKeyName)
	}
	key, err := ledger.LoadPrivateKey(cfg.Ledger.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(cfg.Ledger.PrivateKeyFile); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("ledger private key file is readable by others: chmod 600 it", slog.String("file", cfg.Ledger.PrivateKeyFile))
	}
	log = log.With("component", "ledger")
	return ledger.NewBuilder(cfg.Ledger, ledger.Deps{
		KafkaOpts: kafkaOpts(cfg, log),
		Topics:    event.Topics{Prefix: cfg.Kafka.TopicPrefix},
		Key:       key,
		Logger:    log,
		Registry:  reg,
	})
}

// runLedgerSink is `mocdc sink ledger --config FILE`.
func runLedgerSink(ctx context.Context, log *slog.Logger, args []string) error {
	fs := newFlagSet("sink ledger")
	path := fs.String("config", "mocdc.yaml", "configuration file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	reg := newRegistry()
	b, err := newLedgerBuilder(cfg, log, reg)
	if err != nil {
		return err
	}
	return withMetrics(ctx, log, cfg.Metrics, reg, b.Run)
}

// runLedger is `mocdc ledger keygen|verify|query`.
func runLedger(ctx context.Context, log *slog.Logger, sub string, args []string) error {
	switch sub {
	case "keygen":
		return ledgerKeygen(args, os.Stdout)
	case "verify":
		return ledgerVerify(ctx, log, args, os.Stdout, os.Stderr)
	case "query":
		return ledgerQuery(ctx, log, args, os.Stdout)
	}
	return fmt.Errorf("unknown ledger command %q: use mocdc ledger keygen|verify|query", sub)
}

func ledgerKeygen(args []string, stdout io.Writer) error {
	fs := newFlagSet("ledger keygen")
	out := fs.String("out", "", "directory for "+ledger.PrivateKeyName+" (mode 0600) and "+ledger.PublicKeyName)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("usage: mocdc ledger keygen --out DIR")
	}
	priv, pub, err := ledger.GenerateKeyPair(*out)
	if err != nil {
		return err
	}
	pk, err := ledger.LoadPublicKey(pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "private key  %s  (keep it secret: set ledger.private_key_file for the builder only)\n", priv)
	fmt.Fprintf(stdout, "public key   %s  (give it to auditors: mocdc ledger verify --public-key)\n", pub)
	fmt.Fprintf(stdout, "key id       %s\n", ledger.KeyID(pk))
	return nil
}

// ledgerTopic is --topic, or the configured ledger topic.
func ledgerTopic(cfg *Config, flagTopic string) string {
	if flagTopic != "" {
		return flagTopic
	}
	return event.Topics{Prefix: cfg.Kafka.TopicPrefix}.Ledger()
}

// verifyKey finds the public key: --public-key, ledger.public_key_file, or
// the public half of ledger.private_key_file.
func verifyKey(cfg *Config, flagKey string, stderr io.Writer) (ed25519.PublicKey, error) {
	switch {
	case flagKey != "":
		return ledger.LoadPublicKey(flagKey)
	case cfg.Ledger.PublicKeyFile != "":
		return ledger.LoadPublicKey(cfg.Ledger.PublicKeyFile)
	case cfg.Ledger.PrivateKeyFile != "":
		priv, err := ledger.LoadPrivateKey(cfg.Ledger.PrivateKeyFile)
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(stderr, "verify: checking signatures with the public half of ledger.private_key_file; an auditor should use --public-key")
		return priv.Public().(ed25519.PublicKey), nil
	}
	return nil, errors.New("no public key: give --public-key FILE or set ledger.public_key_file")
}

func ledgerVerify(ctx context.Context, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ledger verify")
	path := fs.String("config", "mocdc.yaml", "configuration file")
	keyFile := fs.String("public-key", "", "PEM public key of the builder (default ledger.public_key_file)")
	topicFlag := fs.String("topic", "", "ledger topic (default <kafka.topic_prefix>.ledger)")
	every := fs.Duration("progress", 3*time.Second, "how often to print progress to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	pub, err := verifyKey(cfg, *keyFile, stderr)
	if err != nil {
		return err
	}
	topic := ledgerTopic(cfg, *topicFlag)
	bar := newWorkBar(stderr, "verify", "records", -1)
	progressEvery := *every
	if bar != nil && !flagSet(fs, "progress") {
		progressEvery = 200 * time.Millisecond // a bar moves smoothly; lines come every --progress
	}
	rep, err := ledger.Verify(ctx, kafkaOpts(cfg, log), topic, pub, ledger.VerifyOptions{
		ProgressEvery: progressEvery,
		Progress: func(p ledger.Progress) {
			if bar != nil {
				bar.set(p.Offset, p.End)
				return
			}
			fmt.Fprintf(stderr, "verify: %d records (%.0f records/s), offset %d of %d\n", p.Records, p.Rate, p.Offset, p.End)
		},
	})
	bar.finish()
	if err != nil {
		return err
	}
	writeReport(stdout, rep)
	if rep.Break != nil {
		return fmt.Errorf("ledger %s does not verify: %w", topic, rep.Break)
	}
	return nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// writeReport prints a verification report for a person.
func writeReport(w io.Writer, r *ledger.Report) {
	if b := r.Break; b != nil {
		fmt.Fprintf(w, "ledger %s is BROKEN at sequence %d (offset %d): %s\n", r.Topic, b.Sequence, b.Offset, b.Reason)
		fmt.Fprintf(w, "  %s\n", b.Detail)
		fmt.Fprintf(w, "  before the break: %d records verified, last signed sequence %d\n", r.Records, r.LastSigned)
		return
	}
	fmt.Fprintf(w, "ledger %s verifies (offsets %d..%d)\n", r.Topic, r.Start, r.End)
	fmt.Fprintf(w, "  records         %d (%d writes, %d reads, %d checkpoints)\n", r.Records, r.Writes, r.Reads, r.Checkpoints)
	if r.Records > 0 {
		fmt.Fprintf(w, "  sequences       %d..%d\n", r.FirstSequence, r.LastSequence)
		fmt.Fprintf(w, "  entry times     %s .. %s\n", r.FirstTime, r.LastTime)
	}
	fmt.Fprintf(w, "  last signed     sequence %d (key %s)\n", r.LastSigned, r.KeyID)
	fmt.Fprintf(w, "  not yet signed  %s after the last checkpoint (hash-chained, not signed yet)\n", plural(r.Unsigned, "record"))
	rate := 0.0
	if s := r.Elapsed.Seconds(); s > 0 {
		rate = float64(r.Records) / s
	}
	fmt.Fprintf(w, "  verified in     %s (%.0f records/s)\n", r.Elapsed.Round(time.Millisecond), rate)
}

func ledgerQuery(ctx context.Context, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := newFlagSet("ledger query")
	path := fs.String("config", "mocdc.yaml", "configuration file")
	topicFlag := fs.String("topic", "", "ledger topic (default <kafka.topic_prefix>.ledger)")
	var f ledger.Filter
	fs.StringVar(&f.UUID, "uuid", "", "entries that wrote or read this object")
	fs.StringVar(&f.Actor, "actor", "", "entries by this actor (uuid or name)")
	typ := fs.String("type", "", "entries that wrote this MO type or read its LoRa model (person, engagement, ...)")
	kind := fs.String("kind", "", "read or write")
	from := fs.String("from", "", "entries at or after this time (RFC 3339, or YYYY-MM-DD for local midnight in Europe/Copenhagen)")
	to := fs.String("to", "", "entries before this time (same forms as --from)")
	fs.StringVar(&f.Field, "field", "", "writes whose changed fields include this MO field (e.g. job_function)")
	format := fs.String("format", "table", "table or json (one stored record per line)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var errs []error
	if *typ != "" {
		if f.Type = mo.Type(*typ); !f.Type.Valid() {
			errs = append(errs, fmt.Errorf("--type %q is not an MO type (one of %s)", *typ, typeList()))
		}
	}
	switch *kind {
	case "", "read", "write":
		f.Kind = ledger.Kind(*kind)
	default:
		errs = append(errs, fmt.Errorf("--kind must be read or write, not %q", *kind))
	}
	var err error
	if f.From, err = parseWhen(*from); err != nil {
		errs = append(errs, fmt.Errorf("--from: %w", err))
	}
	if f.To, err = parseWhen(*to); err != nil {
		errs = append(errs, fmt.Errorf("--to: %w", err))
	}
	if *format != "table" && *format != "json" {
		errs = append(errs, fmt.Errorf("--format must be table or json, not %q", *format))
	}
	if f.UUID != "" {
		u, err := uuid.Parse(f.UUID)
		if err != nil || len(f.UUID) != 36 {
			errs = append(errs, fmt.Errorf("--uuid %q is not a uuid: give the object's uuid as 8-4-4-4-12 hex digits, e.g. 6d1c3a7e-2b8f-4c55-9e0a-3f4b2d1e8c90", f.UUID))
		} else {
			f.UUID = u.String()
		}
	}
	if f.Field != "" {
		if err := checkField(f.Field, f.Type); err != nil {
			errs = append(errs, err)
		}
		if f.Kind == ledger.KindRead {
			errs = append(errs, errors.New("--field matches writes only (a read names no fields): drop --kind read or --field"))
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		errs = append(errs, fmt.Errorf("--from %s is not before --to %s: no entry can match", *from, *to))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	topic := ledgerTopic(cfg, *topicFlag)
	recs, err := ledger.Query(ctx, kafkaOpts(cfg, log), topic, f)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		// Said on stderr, so that the table (or JSON) stays parseable.
		fmt.Fprintf(os.Stderr, "ledger query: no entry of %s matches\n", topic)
	}
	if *format == "json" {
		return ledger.WriteJSON(stdout, recs)
	}
	return ledger.WriteTable(stdout, recs, f)
}

// moFields are the field names a write's changed list can hold for t
// (every type's when t is empty), sorted: the MO fields and validity.
func moFields(t mo.Type) []string {
	set := map[string]bool{"validity": true}
	for _, typ := range mo.Types {
		if t != "" && typ != t {
			continue
		}
		for _, fd := range mo.SpecOf(typ).Fields {
			set[fd.Name] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// checkField refuses a --field no entry can have, naming the valid ones
// (and the nearest, for a typo).
func checkField(field string, t mo.Type) error {
	valid := moFields(t)
	if slices.Contains(valid, field) {
		return nil
	}
	of := "of any MO type"
	if t != "" {
		of = "of " + string(t)
		if slices.Contains(moFields(""), field) {
			return fmt.Errorf("--field %q is not a field of %s (its fields: %s)", field, t, strings.Join(valid, ", "))
		}
	}
	hint := ""
	if near := nearest(field, valid); near != "" {
		hint = fmt.Sprintf("did you mean %q? ", near)
	}
	return fmt.Errorf("--field %q is not a field %s: %sthe fields are %s", field, of, hint, strings.Join(valid, ", "))
}

// nearest is the name in names within edit distance 2 of s, or "".
func nearest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func typeList() string {
	s := make([]string, len(mo.Types))
	for i, t := range mo.Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// parseWhen reads an RFC 3339 time or a date (local midnight in
// Europe/Copenhagen); "" is the zero time (no bound).
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, mo.Location); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2024-03-04T13:00:00Z) nor a date (2024-03-04)", s)
}
