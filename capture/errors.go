package capture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// permanentError is a failure that retrying cannot fix (bad configuration,
// missing rights, a checkpoint that cannot be honoured).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// classify says whether err is permanent and, either way, what a user
// should know about it: what to do for a permanent one, what is failing
// for a transient one ("" when nothing more is known).
func classify(err error) (permanent bool, hint string) {
	var perm *permanentError
	if errors.As(err, &perm) {
		return true, ""
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "28P01":
			return true, "the MO store refused the password: fix the password in store.dsn (or in the file or variable it names)"
		case "28000":
			return true, "the MO store refused the role: it does not exist, or pg_hba.conf has no entry for this host, role and database; create the role or fix the user in store.dsn"
		case "3D000":
			return true, "the database named in store.dsn does not exist: fix store.dsn or create the MO store database"
		case "42501":
			return true, "the MO store role lacks a privilege capture needs: REPLICATION (ALTER ROLE … REPLICATION), SELECT on the actual_state tables, and, to create or extend the publication, ownership of those tables; or have a DBA create the publication beforehand (docs/operations.md)"
		case "55000":
			if strings.Contains(pg.Message, "wal_level") {
				return true, "the MO store does not run with wal_level=logical: set wal_level = logical in postgresql.conf and restart PostgreSQL"
			}
		case "53400":
			return true, "the MO store has no free replication slot: raise max_replication_slots (and max_wal_senders) or drop an unused slot (SELECT pg_drop_replication_slot(…))"
		case "42P01", "3F000":
			return true, "store.dsn points to a database without the MO store schema (actual_state): check store.dsn"
		}
	}
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState), errors.Is(err, kerr.UnsupportedSaslMechanism):
		return true, "Kafka refused the SASL login: check kafka.sasl (mechanism, user, password)"
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed),
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed), errors.Is(err, kerr.GroupAuthorizationFailed):
		return true, "Kafka refused an operation to capture's principal: it needs CREATE, DESCRIBE and WRITE on the topics of kafka.topic_prefix, READ on its checkpoint topic, WRITE and DESCRIBE on the transactional id mocdc-capture-<slot>, and IDEMPOTENT_WRITE on the cluster (docs/operations.md)"
	}
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ce):
		return false, "the MO store is unreachable"
	case isKafkaUnreachable(err):
		return false, "Kafka is unreachable"
	}
	return false, ""
}

// kafkaUnreachable marks a failure to reach any Kafka broker.
type kafkaUnreachable struct{ err error }

func (e *kafkaUnreachable) Error() string {
	return "Kafka is unreachable: " + e.err.Error()
}
func (e *kafkaUnreachable) Unwrap() error { return e.err }

func isKafkaUnreachable(err error) bool {
	var k *kafkaUnreachable
	return errors.As(err, &k) || strings.Contains(err.Error(), "unable to dial")
}

// pingTimeout bounds one check that Kafka answers.
const pingTimeout = 10 * time.Second

// pingKafka checks that a broker answers cl. A refused login or missing
// right is returned as it is (classify makes it permanent); anything else
// means Kafka is unreachable for now.
func pingKafka(ctx context.Context, cl *kgo.Client) error {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	err := cl.Ping(pctx)
	if err == nil || ctx.Err() != nil {
		return err
	}
	if perm, _ := classify(err); perm {
		return err
	}
	return &kafkaUnreachable{fmt.Errorf("no broker answered within %s: %w", pingTimeout, err)}
}
