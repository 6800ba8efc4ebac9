package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// AccessLogModels are the values OS2mo writes in access_log_operation.model.
var AccessLogModels = []string{
	"Bruger", "Facet", "ItSystem", "Klasse", "Organisation", "OrganisationEnhed",
	"OrganisationFunktion", "Actor", "AccessLog",
}

// RecordRead logs one read as OS2mo's access log does: one
// access_log_operation row (time now(), actor, model, operation, arguments)
// and one access_log_read row per object uuid read, in one statement and
// so one transaction. args nil is stored as {}.
func (w *Writer) RecordRead(ctx context.Context, actor, model, operation string, args json.RawMessage, uuids []string) error {
	if err := checkUUID("actor", actor); err != nil {
		return fmt.Errorf("record read: %w", err)
	}
	if !contains(AccessLogModels, model) {
		return fmt.Errorf("record read: %w: model %q is not one of %v", ErrInvalid, model, AccessLogModels)
	}
	for _, u := range uuids {
		if err := checkUUID("uuid", u); err != nil {
			return fmt.Errorf("record read: %w", err)
		}
	}
	if args == nil {
		args = json.RawMessage("{}")
	}
	if !json.Valid(args) {
		return fmt.Errorf("record read: %w: arguments are not JSON", ErrInvalid)
	}
	if uuids == nil {
		uuids = []string{}
	}
	// A data-modifying CTE runs to completion even when no read rows follow,
	// and before them, so the WAL shows the operation row first.
	tx, err := w.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("record read: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, fmt.Sprintf(`WITH op AS (
    INSERT INTO %s (actor, model, operation, arguments) VALUES ($1::uuid, $2, $3, $4::json) RETURNING id)
INSERT INTO %s (operation_id, uuid)
SELECT op.id, u.u::uuid FROM op, unnest($5::text[]) WITH ORDINALITY AS u(u, ord) ORDER BY u.ord`,
		qual(lora.AccessLogOperationTable), qual(lora.AccessLogReadTable)),
		actor, model, operation, string(args), uuids); err != nil {
		return fmt.Errorf("record read: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("record read: commit: %w", err)
	}
	return nil
}

// UpsertActor sets the name of actor uuid (OS2mo's actor table: names of
// integrations and users). Writing the same name again writes nothing.
func (w *Writer) UpsertActor(ctx context.Context, uuid, name string) error {
	if err := checkUUID("actor", uuid); err != nil {
		return fmt.Errorf("upsert actor: %w", err)
	}
	tx, err := w.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("upsert actor %s: %w", uuid, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, fmt.Sprintf(
		"INSERT INTO %[1]s (actor, name) VALUES ($1, $2) ON CONFLICT (actor) DO UPDATE SET name = EXCLUDED.name "+
			"WHERE %[1]s.name IS DISTINCT FROM EXCLUDED.name", qual(lora.ActorTable)), uuid, name); err != nil {
		return fmt.Errorf("upsert actor %s: %w", uuid, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("upsert actor %s: commit: %w", uuid, err)
	}
	return nil
}
