package ledger

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	entries      *prometheus.CounterVec
	checkpoints  prometheus.Counter
	head         prometheus.Gauge
	lag          prometheus.Gauge
	deadLetters  prometheus.Counter
	transactions *prometheus.CounterVec
	restarts     prometheus.Counter
	batch        prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	m := &metrics{
		entries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mocdc_ledger_entries_total",
			Help: "Entries appended to the ledger (committed), by kind (write, read).",
		}, []string{"kind"}),
		checkpoints: f.NewCounter(prometheus.CounterOpts{
			Name: "mocdc_ledger_checkpoints_total",
			Help: "Signed checkpoints appended to the ledger (committed).",
		}),
		head: f.NewGauge(prometheus.GaugeOpts{
			Name: "mocdc_ledger_head_sequence",
			Help: "Sequence number of the last committed ledger record.",
		}),
		lag: f.NewGauge(prometheus.GaugeOpts{
			Name: "mocdc_ledger_consume_lag_records",
			Help: "Records on the object and access topics not yet in the ledger, as of the last fetch of each partition (a transaction marker counts as one).",
		}),
		deadLetters: f.NewCounter(prometheus.CounterOpts{
			Name: "mocdc_ledger_dead_letters_total",
			Help: "Consumed records that could not be turned into entries and went to the dead-letter topic.",
		}),
		transactions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mocdc_ledger_transactions_total",
			Help: "Kafka transactions ended by the builder, by result (committed, aborted).",
		}, []string{"result"}),
		restarts: f.NewCounter(prometheus.CounterOpts{
			Name: "mocdc_ledger_restarts_total",
			Help: "Times the builder dropped its Kafka session after an error and started over from the committed state.",
		}),
		batch: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "mocdc_ledger_batch_duration_seconds",
			Help:    "Time from a batch's poll to its committed transaction.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
	}
	// Every series exists from the start, so a dashboard shows 0, not nothing.
	for _, k := range []Kind{KindWrite, KindRead} {
		m.entries.WithLabelValues(string(k))
	}
	for _, r := range []string{"committed", "aborted"} {
		m.transactions.WithLabelValues(r)
	}
	return m
}
