package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// liveLog is where `mocdc run` logs while the live screen owns the
// terminal: a file, and the last warnings and errors for the screen.
type liveLog struct {
	path string
	file *os.File
	mu   sync.Mutex
	last []string
}

// openLiveLog opens path (default: mocdc-run.log in the temp directory)
// for appending and returns a logger that writes there and remembers the
// last warnings and errors.
func openLiveLog(path string) (*slog.Logger, *liveLog, error) {
	if path == "" {
		path = filepath.Join(os.TempDir(), "mocdc-run.log")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("--log-file: %w", err)
	}
	l := &liveLog{path: path, file: f}
	h := &ringHandler{Handler: slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}), log: l}
	return slog.New(h), l, nil
}

func (l *liveLog) remember(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = append(l.last, line)
	if len(l.last) > 3 {
		l.last = l.last[len(l.last)-3:]
	}
}

// footer is the bottom of the screen: where the log is, the last warnings.
func (l *liveLog) footer() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := liveDim.Render("log: "+l.path) + "\n"
	for _, w := range l.last {
		s += w + "\n"
	}
	return s
}

func (l *liveLog) close() { _ = l.file.Close() }

// ringHandler passes records on and keeps a one-line copy of warnings and
// errors for the screen.
type ringHandler struct {
	slog.Handler
	log   *liveLog
	attrs []slog.Attr
}

func (h *ringHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s", r.Time.Format("15:04:05"), r.Level, r.Message)
		add := func(a slog.Attr) bool {
			if a.Key == "component" || a.Key == "err" || a.Key == "reason" {
				fmt.Fprintf(&b, " %s=%s", a.Key, a.Value.String())
			}
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
		line := oneLine(b.String())
		if len(line) > 200 {
			line = line[:200] + "…"
		}
		if r.Level >= slog.LevelError {
			line = liveBad.Render(line)
		}
		h.log.remember(line)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *ringHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return &ringHandler{Handler: h.Handler.WithAttrs(a), log: h.log, attrs: append(append([]slog.Attr{}, h.attrs...), a...)}
}

func (h *ringHandler) WithGroup(n string) slog.Handler {
	return &ringHandler{Handler: h.Handler.WithGroup(n), log: h.log, attrs: h.attrs}
}

// liveRun shows the live screen of a `mocdc run` until stop is called; q
// on the screen calls quit (the run's clean stop). The returned function
// ends the screen and says where the log went.
func liveRun(cfg *Config, src liveSource, l *liveLog, quit func()) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = watch(ctx, os.Stdout, src, 2*time.Second, "mocdc run", l.footer, quit)
	}()
	return func() {
		cancel()
		<-done
		fmt.Fprintf(os.Stdout, "mocdc run stopped; its log is %s\n", l.path)
	}
}
