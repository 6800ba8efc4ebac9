package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/demo"
)

// bulkCreate is a PL/pgSQL loop that creates persons the way OS2mo's
// as_create_or_import_bruger does — object, registration, attributes, state
// (whose trigger touches the attributes), relations — all in the calling
// transaction, like a bulk import that calls the procedure in a loop.
const bulkCreate = `
CREATE OR REPLACE FUNCTION pg_temp.bulk_create_persons(n int, org uuid, actor uuid) RETURNS void AS $$
DECLARE
  u uuid; reg bigint; v actual_state.virkning := ROW(tstzrange('-infinity','infinity'), NULL, NULL, '')::actual_state.virkning;
BEGIN
  FOR i IN 1..n LOOP
    u := md5('mocdc-bench-person-' || i)::uuid;
    INSERT INTO actual_state.bruger (id) VALUES (u);
    INSERT INTO actual_state.bruger_registrering (bruger_id, registrering)
      VALUES (u, ROW(tstzrange(clock_timestamp(), 'infinity'), 'Importeret', actor, 'Bulk import')::actual_state.registreringbase)
      RETURNING id INTO reg;
    INSERT INTO actual_state.bruger_attr_egenskaber (brugervendtnoegle, virkning, bruger_registrering_id) VALUES (u::text, v, reg);
    INSERT INTO actual_state.bruger_attr_udvidelser (fornavn, efternavn, virkning, bruger_registrering_id)
      VALUES ('Bulk', 'Person ' || i || ' ' || repeat('æøå', 10), v, reg);
    INSERT INTO actual_state.bruger_tils_gyldighed (virkning, gyldighed, bruger_registrering_id) VALUES (v, 'Aktiv', reg);
    INSERT INTO actual_state.bruger_relation (bruger_registrering_id, virkning, rel_maal_uuid, rel_type) VALUES (reg, v, org, 'tilhoerer');
    INSERT INTO actual_state.bruger_relation (bruger_registrering_id, virkning, rel_maal_urn, rel_type)
      VALUES (reg, v, 'urn:dk:cpr:person:' || lpad(i::text, 10, '0'), 'tilknyttedepersoner');
  END LOOP;
END $$ LANGUAGE plpgsql`

// benchBigTxn: capture's memory while one huge source transaction (a bulk
// import of -persons persons in ONE transaction) streams through it.
func benchBigTxn(ctx context.Context, args []string) error {
	var persons int
	var budget int64
	if err := flags("bigtxn", args, func(fs *flag.FlagSet) {
		fs.IntVar(&persons, "persons", 200000, "persons created in the one transaction")
		fs.Int64Var(&budget, "budget", 64<<20, "capture memory budget (bytes)")
	}); err != nil {
		return err
	}
	l, err := newLab(ctx, "bigtxn")
	if err != nil {
		return err
	}
	defer l.close()
	if _, err := demo.Seed(ctx, l.pool, demo.SeedOptions{Seed: 1, Persons: 10}); err != nil {
		return err
	}
	cfg := l.config(fmt.Sprintf("  memory_budget: %d\n  spill_dir: %s\n", budget, l.dir))
	c, err := l.startCapture(cfg)
	if err != nil {
		return err
	}
	if err := l.waitSnapshot(ctx, 5*time.Minute); err != nil {
		return err
	}
	before := l.walLSN(ctx)
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, bulkCreate); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_temp.bulk_create_persons($1, (SELECT id FROM actual_state.organisation LIMIT 1), $2)`, persons, demo.ActorOPUS); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	conn.Release()
	write := time.Since(t0)
	end := l.walLSN(ctx)
	var walBytes int64
	_ = l.pool.QueryRow(ctx, `SELECT $1::pg_lsn - $2::pg_lsn`, end, before).Scan(&walBytes)
	fmt.Printf("one transaction: %d persons (%d LoRa rows), %d MiB of WAL, written in %s\n",
		persons, persons*7, walBytes>>20, write.Round(time.Second))
	took, err := l.waitSlot(ctx, l.slot, end, 2*time.Hour)
	if err != nil {
		return err
	}
	spilled := l.metric("mocdc_capture_spilled_transactions_total")
	events := l.metric("mocdc_capture_events_total")
	peak := c.halt()
	fmt.Printf("capture published it %s after commit: %.0f events; spilled transactions %0.f; peak RSS %d MiB (memory budget %d MiB)\n",
		took.Round(time.Second), events, spilled, peak/1024, budget>>20)
	return nil
}
