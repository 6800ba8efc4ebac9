package mirror

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics of one mirror target, besides the runner's mocdc_sink_* ones.
type metrics struct {
	rows       *prometheus.CounterVec
	recomputed prometheus.Counter
	freshness  prometheus.Gauge
	rollovers  prometheus.Counter
	visible    prometheus.Histogram
	phase      *prometheus.CounterVec
	statements prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, sink string) *metrics {
	f := promauto.With(reg)
	l := prometheus.Labels{"sink": sink}
	return &metrics{
		rows: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_sink_mirror_rows_written_total", ConstLabels: l,
			Help: "Rows written (inserted or updated) to mirror tables, by table."}, []string{"table"}),
		recomputed: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_mirror_objects_recomputed_total", ConstLabels: l,
			Help: "Objects whose rows were recomputed: the changed ones and those whose computed columns depend on them."}),
		freshness: f.NewGauge(prometheus.GaugeOpts{Name: "mocdc_sink_mirror_source_commit_timestamp_seconds", ConstLabels: l,
			Help: "Commit time in the MO store of the newest change applied (kvittering.query_tid), as a Unix time."}),
		rollovers: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_mirror_day_rollovers_total", ConstLabels: l,
			Help: "Times the mirror recomputed rows because the date changed."}),
		visible: f.NewHistogram(prometheus.HistogramOpts{Name: "mocdc_sink_mirror_commit_to_visible_seconds", ConstLabels: l,
			Help:    "Per applied change: from its commit in the MO store to the commit that made its rows visible in the mirror (same clock on one machine; skewed across machines).",
			Buckets: []float64{.025, .05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300}}),
		phase: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_sink_mirror_apply_phase_seconds_total", ConstLabels: l,
			Help: "Wall time of the committed batches' transactions, by step (begin: connect, begin, lock and read the offsets; day, decode, load previous, write state, cascade, derive, write rows, offsets, commit): where an apply's time goes."}, []string{"phase"}),
		statements: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_mirror_statements_total", ConstLabels: l,
			Help: "Round trips to the target (statements and bulk loads) of the committed batches."}),
	}
}
