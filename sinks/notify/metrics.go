package notify

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	alerts         *prometheus.CounterVec
	mails          *prometheus.CounterVec
	sendErrors     prometheus.Counter
	maybeDuplicate prometheus.Counter
	ruleErrors     *prometheus.CounterVec
	outside        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		alerts: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_notify_alerts_total",
			Help: "Alerts decided (intended in the outbox), by rule."}, []string{"rule"}),
		mails: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_notify_mails_total",
			Help: "Mails by rule and result: sent, dry_run, rejected (5xx: dead letter)."}, []string{"rule", "result"}),
		sendErrors: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_notify_send_errors_total",
			Help: "Failed attempts to send a mail that are retried (4xx, server unreachable)."}),
		maybeDuplicate: f.NewCounter(prometheus.CounterOpts{Name: "mocdc_notify_recovered_sent_total",
			Help: "Mails sent again after a crash in the window between the server's acceptance and the sent mark: possible duplicates (same Message-ID)."}),
		ruleErrors: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_notify_rule_errors_total",
			Help: "Events a rule's templates failed on (dead-lettered), by rule."}, []string{"rule"}),
		outside: f.NewCounterVec(prometheus.CounterOpts{Name: "mocdc_notify_out_of_scope_total",
			Help: "Rule targets not judged because they are outside the sink's scope (notify.scope), by rule."}, []string{"rule"}),
	}
}
