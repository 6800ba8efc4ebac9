package fk

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	requests       *prometheus.CounterVec
	requestSeconds prometheus.Histogram
	httpRetries    prometheus.Counter
	writes         *prometheus.CounterVec
	unchanged      prometheus.Counter
	rejected       prometheus.Counter
	skipped        *prometheus.CounterVec
	owners         prometheus.Counter
	commitToFK     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_fk_requests_total",
			Help: "HTTP requests to OS2sync by operation and answer (2xx, 4xx, 5xx, error), retries included."}, []string{"op", "status"}),
		requestSeconds: f.NewHistogram(prometheus.HistogramOpts{Name: "mocdc_fk_request_seconds",
			Help: "Time of one OS2sync request.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		httpRetries: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_fk_request_retries_total",
			Help: "OS2sync requests sent again after a 5xx or network error."}),
		writes: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_fk_writes_total",
			Help: "Upserts and deletes accepted by OS2sync, by kind (orgUnit, user) and operation (upsert, delete)."}, []string{"kind", "op"}),
		unchanged: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_fk_unchanged_total",
			Help: "FK objects re-rendered whose payload equals the last one sent (nothing sent)."}),
		rejected: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_fk_rejected_total",
			Help: "Writes OS2sync rejected with a 4xx; each is in the dead-letter topic with the server's message."}),
		skipped: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_fk_skipped_total",
			Help: "FK objects not rendered, by reason (no_external_id, bad_uuid, duplicate_fk_uuid, no_title)."}, []string{"reason"}),
		owners: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_fk_reconciled_owners_total",
			Help: "MO persons and units re-rendered and compared with what FK was sent."}),
		commitToFK: f.NewHistogram(prometheus.HistogramOpts{Name: "mocdc_fk_commit_to_fk_seconds",
			Help:    "From the MO commit of a change to OS2sync accepting the write it caused.",
			Buckets: prometheus.ExponentialBuckets(0.005, 1.5, 22)}),
	}
}
