package capture

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics of a capture process, registered on the injected registerer.
type metrics struct {
	txns            prometheus.Counter
	rows            prometheus.Counter
	touchDropped    prometheus.Counter
	events          *prometheus.CounterVec
	deadLetters     *prometheus.CounterVec
	batches         prometheus.Counter
	publishSeconds  prometheus.Histogram
	snapshotObjects prometheus.Counter
	slotLag         prometheus.Gauge
	confirmedLSN    prometheus.Gauge
	spilledBytes    prometheus.Gauge
	spilledTxns     prometheus.Counter
	active          prometheus.Gauge
	restarts        prometheus.Counter
	ticks           prometheus.Counter
	withheld        prometheus.Counter
	republished     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		txns:            f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_transactions_total", Help: "Source transactions processed."}),
		rows:            f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_rows_total", Help: "Row changes (INSERT/UPDATE/DELETE messages) decoded or dropped."}),
		touchDropped:    f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_touch_updates_dropped_total", Help: "active_tils touch UPDATEs recognised and dropped without decoding."}),
		events:          f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_capture_events_total", Help: "Events published, by MO type and op."}, []string{"type", "op"}),
		deadLetters:     f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_capture_dead_letters_total", Help: "Input sent to the dead-letter topic, by stage."}, []string{"stage"}),
		batches:         f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_kafka_transactions_total", Help: "Kafka transactions committed."}),
		publishSeconds:  f.NewHistogram(prometheus.HistogramOpts{Name: "mocdc_capture_publish_seconds", Help: "Time to publish and commit one Kafka transaction.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		snapshotObjects: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_snapshot_objects_total", Help: "Objects published by the initial snapshot."}),
		slotLag:         f.NewGauge(prometheus.GaugeOpts{Name: "mocdc_capture_slot_lag_bytes", Help: "WAL the server keeps for the slot: current WAL end minus the slot's confirmed position."}),
		confirmedLSN:    f.NewGauge(prometheus.GaugeOpts{Name: "mocdc_capture_confirmed_lsn", Help: "Last WAL position confirmed to PostgreSQL, as a number."}),
		spilledBytes:    f.NewGauge(prometheus.GaugeOpts{Name: "mocdc_capture_spilled_bytes", Help: "Bytes of open transactions spilled to disk."}),
		spilledTxns:     f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_spilled_transactions_total", Help: "Source transactions that outgrew the memory budget and spilled to disk."}),
		active:          f.NewGauge(prometheus.GaugeOpts{Name: "mocdc_capture_active", Help: "1 while this process holds the slot, 0 while it waits as a standby."}),
		restarts:        f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_restarts_total", Help: "Times capture restarted from its checkpoint after a failure."}),
		ticks:           f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_ticks_total", Help: "Tick events published at validity boundaries."}),
		withheld:        f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_policy_withheld_events_total", Help: "Events published with a field the policy withheld (a sensitive job function)."}),
		republished:     f.NewCounter(prometheus.CounterOpts{Name: "mocdc_capture_policy_republished_total", Help: "Engagements republished because their person's AD IT user came or went (export title)."}),
	}
}
