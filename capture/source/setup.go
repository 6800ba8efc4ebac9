package source

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// Tables lists every MO store table the publication covers: all tables of
// the eight LoRa classes, the actor table and the access log.
func Tables() []string {
	var out []string
	for _, c := range lora.Classes {
		out = append(out, c.Table(), c.RegistreringTable(), c.EgenskaberTable())
		if len(c.Udvidelser) > 0 {
			out = append(out, c.UdvidelserTable())
		}
		out = append(out, c.TilsTable(), c.RelationTable())
		if c == lora.Klasse {
			out = append(out, "klasse_attr_egenskaber_soegeord")
		}
	}
	return append(out, lora.ActorTable, lora.AccessLogOperationTable, lora.AccessLogReadTable)
}

// EnsurePublication creates publication name over Tables() if it does not
// exist, and adds tables that are missing from an existing one.
func EnsurePublication(ctx context.Context, conn *pgx.Conn, name string) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look up publication %s: %w", name, err)
	}
	qualified := make([]string, 0, len(Tables()))
	for _, t := range Tables() {
		qualified = append(qualified, pgx.Identifier{lora.Schema, t}.Sanitize())
	}
	if !exists {
		sql := fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s", pgx.Identifier{name}.Sanitize(), strings.Join(qualified, ", "))
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("create publication %s: %w (capture needs the MO store schema and a role that owns its tables or is superuser)", name, err)
		}
		return nil
	}
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2`, name, lora.Schema)
	if err != nil {
		return fmt.Errorf("list tables of publication %s: %w", name, err)
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list tables of publication %s: %w", name, err)
	}
	in := map[string]bool{}
	for _, t := range have {
		in[t] = true
	}
	for i, t := range Tables() {
		if in[t] {
			continue
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE %s", pgx.Identifier{name}.Sanitize(), qualified[i])); err != nil {
			return fmt.Errorf("add %s to publication %s: %w", t, name, err)
		}
	}
	return nil
}

// SlotInfo is what the server knows of a replication slot.
type SlotInfo struct {
	Exists         bool
	Plugin         string
	Database       string
	ConfirmedFlush pglogrepl.LSN
	Active         bool
	// Lost: the server removed WAL the slot still needed
	// (max_slot_wal_keep_size); it can never be read again.
	Lost bool
}

// LookupSlot returns the state of slot name.
func LookupSlot(ctx context.Context, conn *pgx.Conn, name string) (SlotInfo, error) {
	var (
		info   SlotInfo
		lsn    *string
		status *string
	)
	err := conn.QueryRow(ctx, `SELECT plugin, database, confirmed_flush_lsn::text, active, wal_status
		FROM pg_replication_slots WHERE slot_name = $1`, name).Scan(&info.Plugin, &info.Database, &lsn, &info.Active, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return SlotInfo{}, nil
	}
	if err != nil {
		return SlotInfo{}, fmt.Errorf("look up slot %s: %w", name, err)
	}
	info.Exists = true
	info.Lost = status != nil && *status == "lost"
	if lsn != nil {
		if info.ConfirmedFlush, err = pglogrepl.ParseLSN(*lsn); err != nil {
			return SlotInfo{}, err
		}
	}
	return info, nil
}

// CreateSlot creates durable logical slot name with pgoutput and exports a
// snapshot. The snapshot stays importable (SET TRANSACTION SNAPSHOT) only
// until repl runs its next command, so import it before starting
// replication.
func CreateSlot(ctx context.Context, repl *pgconn.PgConn, name string) (consistent pglogrepl.LSN, snapshot string, err error) {
	res, err := pglogrepl.CreateReplicationSlot(ctx, repl, name, "pgoutput", pglogrepl.CreateReplicationSlotOptions{
		Mode:           pglogrepl.LogicalReplication,
		SnapshotAction: "EXPORT_SNAPSHOT",
	})
	if err != nil {
		return 0, "", fmt.Errorf("create replication slot %s: %w (the server needs wal_level=logical and a free max_replication_slots entry)", name, err)
	}
	lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return 0, "", fmt.Errorf("slot %s consistent point %q: %w", name, res.ConsistentPoint, err)
	}
	return lsn, res.SnapshotName, nil
}

// ServerSupportsBinary reports whether pgoutput can send binary tuples
// (PostgreSQL 14 and later).
func ServerSupportsBinary(repl *pgconn.PgConn) bool {
	return serverVersion(repl) >= 140000
}

func serverVersion(c *pgconn.PgConn) int {
	v := c.ParameterStatus("server_version")
	var major, minor int
	fmt.Sscanf(v, "%d.%d", &major, &minor)
	return major * 10000
}
