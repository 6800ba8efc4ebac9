package runner

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Failures in a row: counted, shown (metrics, Stats, the sink's health
// report) and bounded — a batch that fails the same way again and again
// is split, and finally stops the runner (Config.StuckAfter).

// describeBatch names a batch in an error: its one record, or its size.
func describeBatch(b *Batch) string {
	if len(b.Records) == 1 {
		rec := b.Records[0]
		return fmt.Sprintf("record %s/%d@%d (key %q)", rec.Topic, rec.Partition, rec.Offset, rec.Key)
	}
	return fmt.Sprintf("a batch of %d records", len(b.Records))
}

var digits = regexp.MustCompile(`[0-9]+`)

// sameness is what makes two failures "the same way": the error's text
// with its numbers left out (process ids, counts and durations vary
// between attempts that fail for the same reason).
func sameness(err error) string { return digits.ReplaceAllString(err.Error(), "#") }

// failed records a failed attempt: the metrics, Stats, and the sink's
// health report.
func (r *Runner) failed(ctx context.Context, err error) {
	now := time.Now()
	r.mu.Lock()
	if r.failures == 0 {
		r.failingSince = now
	}
	r.failures++
	r.lastError = err.Error()
	h := Health{Failures: r.failures, LastError: r.lastError, Since: r.failingSince, At: now}
	r.mu.Unlock()
	r.m.failing.Set(float64(h.Failures))
	r.m.lastError.Reset()
	r.m.lastError.WithLabelValues(cut(oneLine(h.LastError), 200)).Set(1)
	if !IsUnavailable(err) {
		r.report(ctx, h)
	}
}

// recovered records a success after failures.
func (r *Runner) recovered(ctx context.Context) {
	r.mu.Lock()
	was := r.failures
	r.failures, r.lastError, r.failingSince = 0, "", time.Time{}
	r.mu.Unlock()
	if was == 0 {
		return
	}
	r.m.failing.Set(0)
	r.m.lastError.Reset()
	r.log.Info("applying again after failures", slog.Int("failed_attempts", was))
	r.report(ctx, Health{At: time.Now()})
}

func (r *Runner) report(ctx context.Context, h Health) {
	hr, ok := r.sink.(HealthReporter)
	if !ok {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := hr.ReportHealth(rctx, h); err != nil {
		r.log.Debug("could not report health to the target", slog.Any("err", err))
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cut shortens s to at most n runes.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// retry runs fn until it succeeds or ctx ends; a fatal error, or one that
// repeats StuckAfter times in a row (a target that is Unavailable aside),
// ends it with the error.
func (r *Runner) retry(ctx context.Context, what string, fn func(context.Context) error) error {
	var last string
	same := 0
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			r.recovered(ctx)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.failed(ctx, err)
		if IsFatal(err) {
			return fmt.Errorf("runner %s: %s: the sink cannot go on: %w", r.deps.Name, what, err)
		}
		if IsUnavailable(err) {
			last, same = "", 0
		} else if k := sameness(err); k == last {
			same++
		} else {
			last, same = k, 1
		}
		if same >= r.cfg.StuckAfter {
			return fmt.Errorf("runner %s: %s failed %d times in a row the same way: %w", r.deps.Name, what, same, err)
		}
		r.m.retries.Inc()
		r.log.Warn(what+" failed; retrying", slog.Int("attempt", attempt+1), slog.Any("err", err))
		if werr := r.cfg.Retry.Wait(ctx, attempt); werr != nil {
			return werr
		}
	}
}
