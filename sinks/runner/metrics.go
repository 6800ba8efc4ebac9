package runner

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics of one runner, labelled with the sink's name so that several
// sinks can share a registry.
type metrics struct {
	records      prometheus.Counter
	batches      prometheus.Counter
	applySeconds prometheus.Histogram
	lag          *prometheus.GaugeVec
	deadLetters  prometheus.Counter
	retries      prometheus.Counter
	failing      prometheus.Gauge
	lastError    *prometheus.GaugeVec
	rewinds      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, sink string) *metrics {
	f := promauto.With(reg)
	l := prometheus.Labels{"sink": sink}
	return &metrics{
		records: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_records_total", ConstLabels: l,
			Help: "Records applied to the target (dead letters not included)."}),
		batches: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_batches_total", ConstLabels: l,
			Help: "Batches committed to the target."}),
		applySeconds: f.NewHistogram(prometheus.HistogramOpts{Name: "mocdc_sink_apply_seconds", ConstLabels: l,
			Help: "Time to apply one batch, retries included.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		lag: f.NewGaugeVec(prometheus.GaugeOpts{Name: "mocdc_sink_lag_records", ConstLabels: l,
			Help: "Records in Kafka not yet applied, per partition this instance owns (high watermark minus next offset)."},
			[]string{"topic", "partition"}),
		deadLetters: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_dead_letters_total", ConstLabels: l,
			Help: "Records sent to the dead-letter topic because they can never apply."}),
		retries: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_retries_total", ConstLabels: l,
			Help: "Failed attempts to apply a batch (or tick) that were retried."}),
		failing: f.NewGauge(prometheus.GaugeOpts{Name: "mocdc_sink_failing_attempts", ConstLabels: l,
			Help: "Attempts in a row that failed for the batch (or tick) in hand; 0 once one succeeds."}),
		lastError: f.NewGaugeVec(prometheus.GaugeOpts{Name: "mocdc_sink_last_error_info", ConstLabels: l,
			Help: "1, labelled with the error of the last failed attempt (numbers kept, cut to 200 characters), while attempts fail; no series once one succeeds."},
			[]string{"error"}),
		rewinds: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_rewinds_total", ConstLabels: l,
			Help: "Times the target was found to store offsets below what it had committed (it lost transactions) and the records were applied again."}),
	}
}

func partLabel(p int32) string { return strconv.Itoa(int(p)) }
