package ad

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	writes      *prometheus.CounterVec // kind: modify, modify_dn, create, delete
	attrs       *prometheus.CounterVec // attribute written
	reconciles  *prometheus.CounterVec // result: unchanged, changed, unresolved, failed
	unresolved  *prometheus.CounterVec // reason
	deadLetters prometheus.Counter
	retries     prometheus.Counter
	dryRun      prometheus.Counter
	latency     prometheus.Histogram
	inSink      prometheus.Histogram
	resyncs     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		writes: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_sink_ad_writes_total",
			Help: "LDAP writes made, by kind (modify, modify_dn, create, delete)."}, []string{"kind"}),
		attrs: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_sink_ad_attribute_writes_total",
			Help: "Attribute values replaced or deleted, by attribute."}, []string{"attribute"}),
		reconciles: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_sink_ad_reconciles_total",
			Help: "Accounts re-derived and compared, by result (unchanged: the diff was empty; changed; unresolved: no write, see mocdc_sink_ad_unresolved_total; failed: dead-lettered)."}, []string{"result"}),
		unresolved: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_sink_ad_unresolved_total",
			Help: "Persons whose account could not be determined (no write), by reason: missing, ambiguous, dangling_link, outside_write_ous."}, []string{"reason"}),
		deadLetters: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_ad_dead_letters_total", Help: "Dead letters written (AD rejected a write, or an account is missing or ambiguous)."}),
		retries:     f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_ad_retries_total", Help: "LDAP operations retried after AD was unavailable or busy."}),
		dryRun:      f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_ad_dry_run_writes_total", Help: "Writes dry-run printed instead of making."}),
		latency: f.NewHistogram(prometheus.HistogramOpts{Name: "mocdc_sink_ad_commit_to_write_seconds",
			Help:    "Time from the MO commit of a change to the end of the AD write it caused.",
			Buckets: []float64{.05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10, 30, 60}}),
		inSink: f.NewHistogram(prometheus.HistogramOpts{Name: "mocdc_sink_ad_event_to_write_seconds",
			Help:    "Time from the sink reading a change (its view applied the event) to the end of the AD write it caused: the sink's part of mocdc_sink_ad_commit_to_write_seconds.",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .3, .5, .75, 1, 2, 5, 10, 30}}),
		resyncs: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_sink_ad_resyncs_total", Help: "Full resyncs of the owned persons (start, rebalance, midnight)."}),
	}
}
