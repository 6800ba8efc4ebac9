package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	bar "github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/term"
)

// The live view: one screen that refreshes — events/s per MO type, slot
// lag, each sink's lag and freshness, the ledger head, dead letters, and a
// progress bar with rate and ETA for long work (the initial snapshot, a
// sink catching up or rebuilding). `mocdc status --watch` shows it, and
// `mocdc run` on a terminal. When the output is not a terminal the same
// numbers come as one plain line per refresh.

// liveSnapshot is one refresh: the status rows and this moment's metrics.
type liveSnapshot struct {
	at      time.Time
	status  *Status
	metrics map[string]float64 // "name" (summed over labels) and "name{k=v,...}"
	mErr    error
}

// liveSource reads a snapshot: the status as `mocdc status` reads it, and
// the metrics of the process (in-process under `run`, scraped from
// metrics.listen under `status --watch`).
type liveSource struct {
	cfg    *Config
	gather func(ctx context.Context) ([]*dto.MetricFamily, error)
}

func (s liveSource) read(ctx context.Context) liveSnapshot {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	snap := liveSnapshot{at: time.Now(), status: readStatus(ctx, s.cfg, os.ReadFile), metrics: map[string]float64{}}
	if s.gather != nil {
		mfs, err := s.gather(ctx)
		snap.mErr = err
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				var v float64
				switch {
				case m.Counter != nil:
					v = m.Counter.GetValue()
				case m.Gauge != nil:
					v = m.Gauge.GetValue()
				default:
					continue
				}
				snap.metrics[mf.GetName()] += v
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				sort.Strings(labels)
				snap.metrics[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] += v
			}
		}
	}
	return snap
}

// inProcess gathers the metrics of this process's registry.
func inProcess(g prometheus.Gatherer) func(context.Context) ([]*dto.MetricFamily, error) {
	return func(context.Context) ([]*dto.MetricFamily, error) { return g.Gather() }
}

// scrapeMetrics reads another process's /metrics (status --watch beside `run`).
func scrapeMetrics(addr string) func(context.Context) ([]*dto.MetricFamily, error) {
	host := addr
	if strings.HasPrefix(host, "0.0.0.0:") || strings.HasPrefix(host, ":") {
		host = "127.0.0.1:" + host[strings.LastIndex(host, ":")+1:]
	}
	return func(ctx context.Context) ([]*dto.MetricFamily, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/metrics", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("metrics of %s: %w", host, err)
		}
		defer resp.Body.Close()
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("metrics of %s: %w", host, err)
		}
		out := make([]*dto.MetricFamily, 0, len(fams))
		for _, f := range fams {
			out = append(out, f)
		}
		return out, nil
	}
}

// liveRates are what two snapshots say per second.
type liveRates struct {
	events, txns float64
	perType      []typeRate
}

type typeRate struct {
	typ  string
	rate float64
}

func rates(prev, cur liveSnapshot) liveRates {
	var r liveRates
	dt := cur.at.Sub(prev.at).Seconds()
	if prev.metrics == nil || dt <= 0 {
		return r
	}
	d := func(k string) float64 { return max(0, (cur.metrics[k]-prev.metrics[k])/dt) }
	r.events, r.txns = d("mocdc_capture_events_total"), d("mocdc_capture_transactions_total")
	byType := map[string]float64{}
	for k := range cur.metrics {
		rest, ok := strings.CutPrefix(k, "mocdc_capture_events_total{")
		if !ok {
			continue
		}
		for _, l := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
			if t, ok := strings.CutPrefix(l, "type="); ok {
				byType[t] += d(k)
			}
		}
	}
	for t, v := range byType {
		if v > 0 {
			r.perType = append(r.perType, typeRate{t, v})
		}
	}
	sort.Slice(r.perType, func(i, j int) bool {
		if r.perType[i].rate != r.perType[j].rate {
			return r.perType[i].rate > r.perType[j].rate
		}
		return r.perType[i].typ < r.perType[j].typ
	})
	return r
}

// backlog follows one piece of long work (a sink's lag, the snapshot) for
// its bar: the largest backlog seen is 0 %, none left is 100 %.
type backlog struct {
	peak, last float64
	lastAt     time.Time
	rate       float64 // items per second, smoothed
}

func (b *backlog) observe(left float64, at time.Time) {
	if left > b.peak {
		b.peak = left
	}
	if !b.lastAt.IsZero() {
		if dt := at.Sub(b.lastAt).Seconds(); dt > 0 {
			r := max(0, (b.last-left)/dt)
			b.rate = 0.5*b.rate + 0.5*r
		}
	}
	b.last, b.lastAt = left, at
}

func (b *backlog) eta() string {
	if b.rate <= 0 {
		return "ETA -"
	}
	return "ETA " + (time.Duration(b.last/b.rate) * time.Second).String()
}

// liveModel is the bubbletea model of the screen.
type liveModel struct {
	src      liveSource
	ctx      context.Context
	interval time.Duration
	title    string
	prev     liveSnapshot
	cur      liveSnapshot
	r        liveRates
	work     map[string]*backlog
	bar      bar.Model
	width    int
	footer   func() string // the run's last warnings, where its log goes
	onQuit   func()        // run: start the clean stop
	quitting bool
}

type snapshotMsg liveSnapshot

func (m *liveModel) fetch() tea.Cmd {
	return func() tea.Msg { return snapshotMsg(m.src.read(m.ctx)) }
}

func (m *liveModel) Init() tea.Cmd { return m.fetch() }

func (m *liveModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			if m.onQuit != nil && !m.quitting {
				m.quitting = true
				m.onQuit()
				return m, nil // the run stops cleanly; the program ends with it
			}
			return m, tea.Quit
		}
	case tea.WindowSizeMsg:
		m.width = msg.Width
		m.bar.Width = min(40, max(10, msg.Width-50))
	case snapshotMsg:
		m.prev, m.cur = m.cur, liveSnapshot(msg)
		m.r = rates(m.prev, m.cur)
		m.track()
		return m, tea.Tick(m.interval, func(time.Time) tea.Msg { return m.fetch()() })
	}
	return m, nil
}

// track updates the bars: a sink with records left, and the snapshot.
func (m *liveModel) track() {
	if m.work == nil {
		m.work = map[string]*backlog{}
	}
	for _, s := range m.cur.status.Sinks {
		if s.Lag == nil {
			continue
		}
		b := m.work[s.Name]
		if b == nil {
			b = &backlog{}
			m.work[s.Name] = b
		}
		b.observe(float64(*s.Lag), m.cur.at)
	}
}

var (
	liveTitle = lipgloss.NewStyle().Bold(true)
	liveDim   = lipgloss.NewStyle().Faint(true)
	liveBad   = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("9"))
)

func (m *liveModel) View() string {
	var b strings.Builder
	now := m.cur.at
	if now.IsZero() {
		now = time.Now()
	}
	fmt.Fprintf(&b, "%s  %s  %s\n\n", liveTitle.Render(m.title), now.Format("15:04:05"),
		liveDim.Render(fmt.Sprintf("refresh %s · q quits", m.interval)))
	if m.quitting {
		b.WriteString(liveBad.Render("stopping: capture first, then the sinks drain (at most 10 s)") + "\n\n")
	}
	if m.cur.status == nil {
		b.WriteString("reading the status…\n")
		return b.String()
	}
	b.WriteString(m.captureLine())
	var tables bytes.Buffer
	writeStatus(&tables, m.cur.status)
	b.WriteString(tables.String())
	b.WriteString("\n" + m.sinksLine() + "\n")
	for _, s := range m.cur.status.Sinks {
		w := m.work[s.Name]
		if w == nil || w.peak < 1000 || w.last == 0 {
			continue // no long work to show
		}
		frac := 1 - w.last/w.peak
		fmt.Fprintf(&b, "%-10s %s %3.0f%%  %.0f left  %.0f/s  %s\n", s.Name, m.bar.ViewAs(frac), frac*100, w.last, w.rate, w.eta())
	}
	if m.cur.mErr != nil {
		b.WriteString(liveDim.Render("metrics: "+oneLine(m.cur.mErr.Error())) + "\n")
	}
	if m.footer != nil {
		b.WriteString("\n" + m.footer())
	}
	return b.String()
}

// captureLine: events/s in all and by MO type.
func (m *liveModel) captureLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "capture  %s events/s  %s source txns/s  snapshot objects %.0f  ticks %.0f\n",
		liveTitle.Render(fmt.Sprintf("%.1f", m.r.events)), fmt.Sprintf("%.1f", m.r.txns),
		m.cur.metrics["mocdc_capture_snapshot_objects_total"], m.cur.metrics["mocdc_capture_ticks_total"])
	if len(m.r.perType) > 0 {
		var parts []string
		for _, t := range m.r.perType {
			parts = append(parts, fmt.Sprintf("%s %.1f", t.typ, t.rate))
		}
		b.WriteString("  " + strings.Join(parts, " · ") + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// sinksLine: the ledger head and every dead-letter counter.
func (m *liveModel) sinksLine() string {
	dl := m.cur.metrics["mocdc_capture_dead_letters_total"] + m.cur.metrics["mocdc_sink_dead_letters_total"] +
		m.cur.metrics["mocdc_ledger_dead_letters_total"]
	head := "-"
	if v, ok := m.cur.metrics["mocdc_ledger_head_sequence"]; ok {
		head = fmt.Sprintf("%.0f", v)
	}
	dead := fmt.Sprintf("dead letters %.0f", dl)
	if dl > 0 {
		dead = liveBad.Render(dead + " (read the dead-letter topic)")
	}
	return fmt.Sprintf("ledger head %s  ·  %s", head, dead)
}

// plainLine is the view as one line, for output that is not a terminal.
func plainLine(prev, cur liveSnapshot) string {
	r := rates(prev, cur)
	parts := []string{cur.at.UTC().Format(time.RFC3339), fmt.Sprintf("events=%.1f/s", r.events)}
	for i, t := range r.perType {
		if i == 5 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%.1f/s", t.typ, t.rate))
	}
	c := cur.status.Capture
	if c.Error != "" {
		parts = append(parts, "slot_error="+quoteIfSpace(oneLine(c.Error)))
	} else {
		parts = append(parts, "slot_lag="+quoteIfSpace(bytesText(c.LagBytes)))
	}
	for _, s := range cur.status.Sinks {
		v := "?"
		if s.Lag != nil {
			v = fmt.Sprint(*s.Lag)
		}
		parts = append(parts, fmt.Sprintf("%s_lag=%s", strings.ReplaceAll(s.Name, " ", "_"), v))
		if s.Freshness != nil && s.Freshness.BehindSeconds != nil {
			parts = append(parts, fmt.Sprintf("%s_behind=%.0fs", strings.ReplaceAll(s.Name, " ", "_"), *s.Freshness.BehindSeconds))
		}
		if s.Error != "" {
			parts = append(parts, fmt.Sprintf("%s_error=%s", strings.ReplaceAll(s.Name, " ", "_"), quoteIfSpace(oneLine(s.Error))))
		}
	}
	if v, ok := cur.metrics["mocdc_ledger_head_sequence"]; ok {
		parts = append(parts, fmt.Sprintf("ledger_head=%.0f", v))
	}
	parts = append(parts, fmt.Sprintf("dead_letters=%.0f", cur.metrics["mocdc_capture_dead_letters_total"]+
		cur.metrics["mocdc_sink_dead_letters_total"]+cur.metrics["mocdc_ledger_dead_letters_total"]))
	return strings.Join(parts, " ")
}

func quoteIfSpace(s string) string {
	if strings.ContainsAny(s, " \"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// isTerminal reports whether w is a terminal (the live screen) rather
// than a file or pipe (plain lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// watch shows the live view on out until ctx ends (or q on a terminal).
func watch(ctx context.Context, out io.Writer, src liveSource, interval time.Duration, title string, footer func() string, onQuit func()) error {
	if !isTerminal(out) {
		prev := src.read(ctx)
		fmt.Fprintln(out, plainLine(liveSnapshot{}, prev))
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			cur := src.read(ctx)
			fmt.Fprintln(out, plainLine(prev, cur))
			prev = cur
		}
	}
	m := &liveModel{src: src, ctx: ctx, interval: interval, title: title, footer: footer, onQuit: onQuit,
		bar: bar.New(bar.WithDefaultGradient(), bar.WithWidth(30), bar.WithoutPercentage())}
	f, _ := out.(*os.File)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithOutput(f), tea.WithAltScreen())
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramPanic) {
		return fmt.Errorf("live view: %w (a bug: please report it with the trace above)", err)
	}
	if errors.Is(err, tea.ErrProgramKilled) || ctx.Err() != nil {
		return nil
	}
	return err
}
