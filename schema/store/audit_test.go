package store

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestRecordRead writes one read of three objects and one of none, and reads
// the access log back with SQL.
func TestRecordRead(t *testing.T) {
	_, conn := freshStore(t)
	ctx := testCtx(t)
	w := NewWriter(conn)
	read := []string{newUUID(t), newUUID(t), newUUID(t)}
	if err := w.RecordRead(ctx, actor, "Bruger", "employees", json.RawMessage(`{"limit": 3}`), read); err != nil {
		t.Fatal(err)
	}
	if err := w.RecordRead(ctx, actor, "Klasse", "classes", nil, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT o.model, o.operation, o.arguments::text, o.actor::text, o.time IS NOT NULL,
		coalesce(array_agg(r.uuid::text ORDER BY r.uuid) FILTER (WHERE r.uuid IS NOT NULL), '{}')
		FROM actual_state.access_log_operation o LEFT JOIN actual_state.access_log_read r ON r.operation_id = o.id
		GROUP BY o.id ORDER BY o.model`)
	if err != nil {
		t.Fatal(err)
	}
	type op struct {
		model, operation, args, actor string
		timed                         bool
		uuids                         []string
	}
	var got []op
	for rows.Next() {
		var o op
		if err := rows.Scan(&o.model, &o.operation, &o.args, &o.actor, &o.timed, &o.uuids); err != nil {
			t.Fatal(err)
		}
		got = append(got, o)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].model != "Bruger" || got[0].args != `{"limit": 3}` || got[0].actor != actor || !got[0].timed ||
		len(got[0].uuids) != 3 || got[1].model != "Klasse" || got[1].args != "{}" || len(got[1].uuids) != 0 {
		t.Errorf("access log: %+v", got)
	}
	if err := w.RecordRead(ctx, actor, "Person", "x", nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown model: %v, want ErrInvalid", err)
	}
}

func TestUpsertActor(t *testing.T) {
	_, conn := freshStore(t)
	ctx := testCtx(t)
	w := NewWriter(conn)
	id := newUUID(t)
	for _, name := range []string{"SQLExport", "SQLExport", "OS2Sync"} {
		if err := w.UpsertActor(ctx, id, name); err != nil {
			t.Fatal(err)
		}
	}
	var name string
	var n int
	if err := conn.QueryRow(ctx, "SELECT max(name), count(*) FROM actual_state.actor").Scan(&name, &n); err != nil {
		t.Fatal(err)
	}
	if name != "OS2Sync" || n != 1 {
		t.Errorf("actor table: %q (%d rows)", name, n)
	}
}
