package outbox

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	intents, done, dead, recovered, performErrors, restarts, deadLetters prometheus.Counter
	pending                                                              prometheus.Gauge
	transactions                                                         *prometheus.CounterVec
	batch                                                                prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, name string) *metrics {
	f := promauto.With(reg)
	l := prometheus.Labels{"outbox": name}
	c := func(n, help string) prometheus.Counter {
		return f.NewCounter(prometheus.CounterOpts{Name: "mocdc_outbox_" + n, Help: help, ConstLabels: l})
	}
	return &metrics{
		intents:       c("intents_total", "Effects intended (committed with their source offsets)."),
		done:          c("done_total", "Effects performed and marked done."),
		dead:          c("dead_total", "Effects that failed permanently (recorded dead, dead-lettered)."),
		recovered:     c("recovered_total", "Intents found without a done record at a session start and performed again: each may be a duplicate (the crash window)."),
		performErrors: c("perform_errors_total", "Failed attempts to perform an effect (retried)."),
		restarts:      c("restarts_total", "Sessions restarted after an error."),
		deadLetters:   c("handler_dead_letters_total", "Consumed records the handler sent to the dead-letter topic."),
		pending:       f.NewGauge(prometheus.GaugeOpts{Name: "mocdc_outbox_pending", Help: "Intents not performed yet.", ConstLabels: l}),
		transactions: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_outbox_transactions_total",
			Help: "Kafka transactions of the outbox by result.", ConstLabels: l}, []string{"result"}),
		batch: f.NewHistogram(prometheus.HistogramOpts{Name: "mocdc_outbox_batch_seconds",
			Help: "Time to decide and commit one consumed batch.", ConstLabels: l, Buckets: prometheus.ExponentialBuckets(0.001, 3, 10)}),
	}
}
