package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/ad"
	"github.com/os2mo-cdc/mocdc/sinks/fk"
	"github.com/os2mo-cdc/mocdc/sinks/ledger"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
	"github.com/os2mo-cdc/mocdc/sinks/notify"
)

// `mocdc status`: where capture and every sink stand, read from where each
// keeps its position — the replication slot in the MO store, each mirror
// target's mocdc_offsets and kvittering tables (mirrors never commit
// offsets to Kafka), the ledger builder's consumer group offsets — and the
// topics' end offsets. It writes nothing anywhere.

// Status is what `mocdc status` reports (--json prints it as is).
type Status struct {
	// Time is when the status had been read; freshness is measured
	// against it.
	Time    time.Time     `json:"time"`
	Capture CaptureStatus `json:"capture"`
	// Sinks are the mirror targets in configuration order, then the
	// ledger builder when it is configured.
	Sinks []SinkStatus `json:"sinks"`
	// OK is false when a row has an error; the exit code is then 1.
	OK bool `json:"ok"`
}

// CaptureStatus is the replication slot, as pg_replication_slots has it.
type CaptureStatus struct {
	Slot string `json:"slot"`
	// Exists is false when the slot has not been created (capture creates
	// it on its first start) or was dropped.
	Exists bool `json:"exists"`
	// Active is true while a capture process streams from the slot.
	Active    bool `json:"active"`
	ActivePID int  `json:"active_pid,omitempty"`
	// WALStatus is reserved, extended, unreserved or lost (PostgreSQL 13+).
	WALStatus         string `json:"wal_status,omitempty"`
	RestartLSN        string `json:"restart_lsn,omitempty"`
	ConfirmedFlushLSN string `json:"confirmed_flush_lsn,omitempty"`
	// WALEndLSN is pg_current_wal_lsn() when the status was read.
	WALEndLSN string `json:"wal_end_lsn,omitempty"`
	// LagBytes is WAL end minus the confirmed flush position: WAL written
	// since the last position capture confirmed after publishing it (the
	// metric mocdc_capture_slot_lag_bytes).
	LagBytes int64 `json:"lag_bytes"`
	// RetainedBytes is WAL end minus restart_lsn: WAL the server keeps
	// on disk for the slot.
	RetainedBytes int64 `json:"retained_bytes"`
	// Skipped says why the slot was not looked at (no store.dsn).
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// SinkStatus is one sink: a mirror target or the ledger builder.
type SinkStatus struct {
	// Name is the mirror target's name, "ledger", "ad", "notify" or "fk".
	Name string `json:"name"`
	// Kind is mirror, ledger, ad, notify or fk (which reads without a consumer
	// group: Group is empty and Instances unknown).
	Kind    string `json:"kind"`
	Dialect string `json:"dialect,omitempty"`
	Group   string `json:"group"`
	// Instances is how many processes are members of the consumer group
	// now; nil when the group could not be described.
	Instances *int `json:"instances"`
	// Lag is the number of records on the sink's topics it has not
	// applied yet (committed Kafka transactions only); nil when unknown.
	Lag *int64 `json:"lag"`
	// LagExact is false when Lag is an upper bound: a backlog of more than
	// 20,000 offsets is not read to count its records.
	LagExact bool `json:"lag_exact"`
	// Topics lists the topics the sink is behind in.
	Topics []TopicLag `json:"topics,omitempty"`
	// Freshness is what the mirror's kvittering table says.
	Freshness *Freshness `json:"freshness,omitempty"`
	// Retries is, as the last report an instance wrote to the mirror's
	// target says, how many attempts in a row failed for the batch in
	// hand (0: applying); nil when no instance ever failed. LastError is
	// that report's error, LastErrorAt when it was written, Instance by
	// whom.
	Retries     *int       `json:"retries"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	Instance    string     `json:"instance,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// Freshness is how current a mirror's tables are, from kvittering. The
// times are Europe/Copenhagen, like kvittering's.
type Freshness struct {
	// NewestChange is MAX(query_tid): when the newest change the mirror
	// holds was committed in MO. Null before the first applied change.
	NewestChange *time.Time `json:"newest_change"`
	// Applied is when the mirror committed that change.
	Applied *time.Time `json:"applied"`
	// LastWrite is MAX(slut_levering_tid): the mirror's last write.
	LastWrite *time.Time `json:"last_write"`
	// BehindSeconds is Status.Time minus NewestChange. It also grows while
	// MO is idle: with lag 0 the mirror holds every change published.
	BehindSeconds *float64 `json:"behind_seconds"`
}

// runStatus is `mocdc status --config FILE [--json] [--timeout D]`.
func runStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("status")
	path := fs.String("config", "mocdc.yaml", "configuration file")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	timeout := fs.Duration("timeout", 15*time.Second, "give up on what has not answered by then (that row shows an error)")
	watchFlag := fs.Bool("watch", false, "refresh until interrupted: a live screen on a terminal (q quits), one line per refresh otherwise")
	interval := fs.Duration("interval", 2*time.Second, "how often --watch refreshes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	if *watchFlag {
		if *asJSON {
			return errors.New("status: --watch and --json do not go together: use --json alone in scripts (run it in a loop)")
		}
		src := liveSource{cfg: cfg}
		if cfg.Metrics.Listen != "" {
			src.gather = scrapeMetrics(cfg.Metrics.Listen) // events/s, dead letters, ledger head of the process serving them
		}
		return watch(ctx, stdout, src, max(*interval, 200*time.Millisecond), "mocdc status --watch", nil, nil)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st := readStatus(ctx, cfg, os.ReadFile)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		writeStatus(stdout, st)
	}
	if !st.OK {
		return errors.New("status: some rows have errors (see above)")
	}
	return nil
}

// readStatus reads the slot and every sink at once; each row carries its
// own error, so one unreachable target never hides the others.
func readStatus(ctx context.Context, cfg *Config, readFile func(string) ([]byte, error)) *Status {
	st := &Status{}
	topics := event.Topics{Prefix: cfg.Kafka.TopicPrefix}
	// franz-go logs connection failures at warning level; here they are
	// shown in the rows instead.
	kopts := kafkaOpts(cfg, slog.New(slog.DiscardHandler))
	var adm *kadm.Client
	var kafkaErr error
	if cl, err := kgo.NewClient(kopts...); err != nil {
		kafkaErr = fmt.Errorf("kafka: %w", err)
	} else {
		defer cl.Close()
		adm = kadm.NewClient(cl)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); st.Capture = readSlot(ctx, cfg) }()
	for _, m := range cfg.Mirrors {
		st.Sinks = append(st.Sinks, SinkStatus{Name: m.Name, Kind: "mirror", Dialect: m.Dialect})
	}
	if cfg.Ledger.PrivateKeyFile != "" || cfg.Ledger.GroupID != "" {
		st.Sinks = append(st.Sinks, SinkStatus{Name: "ledger", Kind: "ledger", Group: cfg.Ledger.Group(topics)})
	}
	if cfg.AD != nil {
		st.Sinks = append(st.Sinks, SinkStatus{Name: "ad", Kind: "ad", Group: ad.GroupOf(*cfg.AD, topics)})
	}
	if cfg.Notify != nil {
		st.Sinks = append(st.Sinks, SinkStatus{Name: "notify", Kind: "notify", Group: cfg.Notify.GroupID})
	}
	if cfg.FK != nil {
		st.Sinks = append(st.Sinks, SinkStatus{Name: "fk", Kind: "fk"})
	}
	for i := range st.Sinks {
		s := &st.Sinks[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch {
			case s.Kind == "ledger" && kafkaErr == nil:
				err = readLedger(ctx, adm, kopts, topics, s)
			case s.Kind == "ad" && kafkaErr == nil:
				err = readAD(ctx, adm, kopts, *cfg.AD, topics, s)
			case s.Kind == "notify" && kafkaErr == nil:
				err = readGroup(ctx, adm, kopts, notify.ConsumedTopics(*cfg.Notify, topics), s)
			case s.Kind == "fk" && kafkaErr == nil:
				err = readFK(ctx, adm, kopts, *cfg.FK, topics, s)
			case kafkaErr == nil:
				err = readMirror(ctx, adm, kopts, cfg, topics, i, readFile, s)
			default:
				err = kafkaErr
			}
			if err != nil {
				s.Error = err.Error()
			}
		}()
	}
	wg.Wait()
	st.Time = time.Now()
	for _, s := range st.Sinks {
		if f := s.Freshness; f != nil && f.NewestChange != nil {
			behind := st.Time.Sub(*f.NewestChange).Seconds()
			f.BehindSeconds = &behind
		}
	}
	groups := make([]string, 0, len(st.Sinks))
	for _, s := range st.Sinks {
		if s.Group != "" {
			groups = append(groups, s.Group)
		}
	}
	if adm != nil && len(groups) > 0 { // no groups would describe every group
		if described, err := adm.DescribeGroups(ctx, groups...); err == nil || len(described) > 0 {
			for i := range st.Sinks {
				// A group without members or offsets is deleted: a
				// mirror's group (it commits no offsets) does not exist
				// while none of its instances runs.
				if g, ok := described[st.Sinks[i].Group]; ok && (g.Err == nil || errors.Is(g.Err, kerr.GroupIDNotFound)) {
					n := len(g.Members)
					st.Sinks[i].Instances = &n
				}
			}
		}
	}

	st.OK = st.Capture.Error == ""
	for _, s := range st.Sinks {
		st.OK = st.OK && s.Error == ""
	}
	return st
}

// readSlot reads the capture slot from pg_replication_slots.
func readSlot(ctx context.Context, cfg *Config) CaptureStatus {
	cs := CaptureStatus{Slot: cfg.Capture.Slot}
	if cfg.Store.DSN == "" {
		cs.Skipped = "store.dsn is empty: the slot was not looked at"
		return cs
	}
	fail := func(err error) CaptureStatus { cs.Error = err.Error(); return cs }
	conn, err := pgx.Connect(ctx, cfg.Store.DSN)
	if err != nil {
		return fail(fmt.Errorf("MO store (store.dsn) not reachable: %w", err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	walStatus := "NULL::text" // pg_replication_slots.wal_status is PostgreSQL 13+
	var major int
	fmt.Sscanf(conn.PgConn().ParameterStatus("server_version"), "%d", &major)
	if major >= 13 {
		walStatus = "wal_status"
	}
	var (
		here, walEnd                           string
		active                                 bool
		pid                                    *int
		db, plugin, restart, confirmed, status *string
		lagBytes, retained                     *int64
	)
	err = conn.QueryRow(ctx, `SELECT database, plugin, current_database(), active, active_pid, restart_lsn::text, confirmed_flush_lsn::text,
		pg_current_wal_lsn()::text, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint, (pg_current_wal_lsn() - restart_lsn)::bigint, `+walStatus+`
		FROM pg_replication_slots WHERE slot_name = $1`, cs.Slot).Scan(&db, &plugin, &here, &active, &pid, &restart, &confirmed, &walEnd, &lagBytes, &retained, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return fail(fmt.Errorf("slot %s does not exist: capture creates it on its first start; is capture running with this configuration (capture.slot)?", cs.Slot))
	}
	if err != nil {
		return fail(fmt.Errorf("read slot %s: %w", cs.Slot, err))
	}
	cs.Exists, cs.Active, cs.WALEndLSN = true, active, walEnd
	if pid != nil {
		cs.ActivePID = *pid
	}
	for _, f := range []struct {
		v   *string
		out *string
	}{{restart, &cs.RestartLSN}, {confirmed, &cs.ConfirmedFlushLSN}, {status, &cs.WALStatus}} {
		if f.v != nil {
			*f.out = *f.v
		}
	}
	if lagBytes != nil {
		cs.LagBytes = *lagBytes
	}
	if retained != nil {
		cs.RetainedBytes = *retained
	}
	switch {
	case db == nil || plugin == nil || *plugin != "pgoutput":
		cs.Error = fmt.Sprintf("slot %s is not a logical pgoutput slot: capture cannot use it; pick another capture.slot", cs.Slot)
	case *db != here:
		cs.Error = fmt.Sprintf("slot %s belongs to database %s, not %s (store.dsn): capture cannot use it; pick another capture.slot", cs.Slot, *db, here)
	case cs.WALStatus == "lost":
		cs.Error = fmt.Sprintf("slot %s is invalidated: the server removed WAL it still needed (max_slot_wal_keep_size); capture cannot resume from it", cs.Slot)
	}
	return cs
}

// readMirror fills s from the target's tables (its position and
// kvittering) and the topics' end offsets.
func readMirror(ctx context.Context, adm *kadm.Client, kopts []kgo.Opt, cfg *Config, topics event.Topics, i int, readFile func(string) ([]byte, error), s *SinkStatus) error {
	mc, err := mirrorTarget(cfg, cfg.Mirrors[i].Name, readFile)
	if err != nil {
		return err
	}
	s.Group = mc.Group
	db, err := mirror.Open(mc)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := mirror.ReadProgress(ctx, db, mc)
	if err != nil {
		return err
	}
	f := &Freshness{}
	for _, t := range []struct {
		v   time.Time
		out **time.Time
	}{{p.NewestChange, &f.NewestChange}, {p.Applied, &f.Applied}, {p.LastWrite, &f.LastWrite}} {
		if !t.v.IsZero() {
			v := t.v
			*t.out = &v
		}
	}
	s.Freshness = f
	if h := p.Health; h != nil {
		n := h.Failures
		s.Retries, s.Instance = &n, h.Instance
		if n > 0 {
			at := h.At
			s.LastError, s.LastErrorAt = h.LastError, &at
		}
	}
	names := make([]string, len(mirror.Mirrored))
	for i, typ := range mirror.Mirrored {
		names[i] = topics.Object(typ)
	}
	return fillLag(ctx, adm, kopts, names, p.Offsets.Get, s)
}

// readLedger fills s from the builder's committed group offsets, which
// it commits in the Kafka transaction that appends to the ledger.
func readLedger(ctx context.Context, adm *kadm.Client, kopts []kgo.Opt, topics event.Topics, s *SinkStatus) error {
	committed, err := adm.FetchOffsets(ctx, s.Group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Errorf("kafka: offsets of group %s: %w", s.Group, err)
	}
	pos := func(topic string, p int32) (int64, bool) {
		o, ok := committed.Lookup(topic, p)
		if !ok || o.Err != nil || o.At < 0 {
			return 0, false
		}
		return o.At, true
	}
	return fillLag(ctx, adm, kopts, ledger.Consumed(topics), pos, s)
}

// readGroup fills s from the sink's consumer group offsets, committed in
// the Kafka transactions that record what it decided (the notify outbox).
func readGroup(ctx context.Context, adm *kadm.Client, kopts []kgo.Opt, consumed []string, s *SinkStatus) error {
	committed, err := adm.FetchOffsets(ctx, s.Group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Errorf("kafka: offsets of group %s: %w", s.Group, err)
	}
	pos := func(topic string, p int32) (int64, bool) {
		o, ok := committed.Lookup(topic, p)
		if !ok || o.Err != nil || o.At < 0 {
			return 0, false
		}
		return o.At, true
	}
	return fillLag(ctx, adm, kopts, consumed, pos, s)
}

// readAD fills s from the AD sink's position group, which the sink
// commits whenever it has reconciled everything it has read.
func readAD(ctx context.Context, adm *kadm.Client, kopts []kgo.Opt, c ad.Config, topics event.Topics, s *SinkStatus) error {
	g := ad.PositionGroup(c, topics)
	committed, err := adm.FetchOffsets(ctx, g)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Errorf("kafka: offsets of group %s: %w", g, err)
	}
	pos := func(topic string, p int32) (int64, bool) {
		o, ok := committed.Lookup(topic, p)
		if !ok || o.Err != nil || o.At < 0 {
			return 0, false
		}
		return o.At, true
	}
	// Only the topics the sink follows (ad.Types): records on the others are
	// never read and are no lag.
	var followed []string
	for _, typ := range ad.Types {
		followed = append(followed, topics.Object(typ))
	}
	return fillLag(ctx, adm, kopts, followed, pos, s)
}

// readFK fills s from the view position the fk sink commits to its state
// topic with what it sent (and every few seconds while idle).
func readFK(ctx context.Context, adm *kadm.Client, kopts []kgo.Opt, c fk.Config, topics event.Topics, s *SinkStatus) error {
	committed, _, err := fk.CommittedPosition(ctx, kopts, c.StateTopic)
	if err != nil {
		return fmt.Errorf("kafka: fk state topic %s: %w", c.StateTopic, err)
	}
	pos := func(topic string, p int32) (int64, bool) {
		n, ok := committed[topic][p]
		return n, ok
	}
	return fillLag(ctx, adm, kopts, fk.FollowedTopics(topics), pos, s)
}

func fillLag(ctx context.Context, adm *kadm.Client, kopts []kgo.Opt, topics []string, pos positionFunc, s *SinkStatus) error {
	lag, err := measureLag(ctx, adm, kopts, topics, pos)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	s.Lag, s.LagExact, s.Topics = &lag.Records, lag.Exact, lag.Topics
	if len(lag.Problems) > 0 {
		return errors.New(strings.Join(lag.Problems, "; "))
	}
	return nil
}

// writeStatus prints st as two tables: the slot, then the sinks.
func writeStatus(w io.Writer, st *Status) {
	c := st.Capture
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tACTIVE\tWAL STATUS\tRESTART LSN\tCONFIRMED LSN\tWAL END\tLAG\tWAL KEPT\tSTATE")
	state := "streaming"
	switch {
	case c.Skipped != "":
		state = "not checked: " + c.Skipped
	case c.Error != "":
		state = "error: " + c.Error
	case !c.Active:
		state = "inactive: no capture process is streaming from it"
	}
	if c.Exists {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Slot, yesNo(c.Active), dash(c.WALStatus), dash(c.RestartLSN), dash(c.ConfirmedFlushLSN),
			dash(c.WALEndLSN), bytesText(c.LagBytes), bytesText(c.RetainedBytes), oneLine(state))
	} else {
		fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t%s\n", c.Slot, oneLine(state))
	}
	tw.Flush()
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SINK\tGROUP\tINSTANCES\tLAG\tNEWEST MO CHANGE\tAPPLIED\tFRESHNESS\tRETRIES\tSTATE\tLAST ERROR")
	for _, s := range st.Sinks {
		name := s.Kind
		if s.Kind == "mirror" {
			name = "mirror " + s.Name
		}
		instances, lag := "?", "?"
		if s.Instances != nil {
			instances = fmt.Sprint(*s.Instances)
		}
		if s.Lag != nil {
			lag = fmt.Sprint(*s.Lag)
			if !s.LagExact {
				lag = "~" + lag
			}
		}
		newest, applied, fresh := "-", "-", "-"
		if f := s.Freshness; f != nil {
			if f.NewestChange != nil {
				newest = f.NewestChange.In(mo.Location).Format(time.DateTime)
				fresh = behindText(st.Time.Sub(*f.NewestChange))
			} else {
				fresh = "no change applied yet"
			}
			if f.Applied != nil {
				applied = f.Applied.In(mo.Location).Format(time.DateTime)
			}
		}
		stopped := s.Instances != nil && *s.Instances == 0
		state := "up to date"
		switch {
		case s.Error != "":
			state = "error: " + s.Error
		case s.Lag == nil:
			state = "?"
		case *s.Lag > 0 && stopped:
			state = "behind"
		case *s.Lag > 0:
			state = "catching up"
		}
		if s.Error == "" && stopped {
			state += ", no instance running"
		}
		retries, lastErr := "-", "-"
		if s.Retries != nil {
			retries = fmt.Sprint(*s.Retries)
		}
		if s.LastError != "" {
			lastErr = fmt.Sprintf("%s (%s, %s)", s.LastError, s.LastErrorAt.In(mo.Location).Format(time.DateTime), s.Instance)
			if s.Error == "" {
				state += ", failing"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, dash(s.Group), instances, lag, newest, applied, fresh, retries, oneLine(state), oneLine(lastErr))
	}
	tw.Flush()
}

// behindText is "N s behind", with hours and minutes spelt out past two
// minutes.
func behindText(d time.Duration) string {
	s := int64(max(d, 0) / time.Second)
	if s < 120 {
		return fmt.Sprintf("%d s behind", s)
	}
	return fmt.Sprintf("%d s behind (%s)", s, (time.Duration(s) * time.Second).String())
}

func bytesText(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a multi-line error in its table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
