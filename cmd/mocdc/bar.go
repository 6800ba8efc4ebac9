package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// workBar is the progress bar of long work run from a terminal (seed,
// ledger verify): done of total with the rate and the time left. It is
// nil, and every method a no-op, when w is not a terminal: logs and pipes
// get the commands' own plain progress lines instead.
type workBar struct{ b *progressbar.ProgressBar }

func newWorkBar(w io.Writer, what, unit string, total int64) *workBar {
	if !isTerminal(w) {
		return nil
	}
	return &workBar{progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
	)}
}

// set moves the bar to done (of a total that may have grown).
func (b *workBar) set(done, total int64) {
	if b == nil {
		return
	}
	if total != b.b.GetMax64() {
		b.b.ChangeMax64(total)
	}
	_ = b.b.Set64(done)
}

// finish clears the bar (the command prints its summary after it).
func (b *workBar) finish() {
	if b != nil {
		_ = b.b.Finish()
	}
}
