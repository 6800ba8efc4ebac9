package capture

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/policy"
	"github.com/os2mo-cdc/mocdc/capture/snapshot"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// The policy step (capture/policy) needs other objects than the one it
// redacts: class names, user_keys and scopes, the IT systems, and which
// persons have an AD IT user today. loadPolicy reads them from the store
// when capture starts (from the snapshot's own transaction during an
// initial snapshot, so they agree with what it publishes); afterwards the
// policy learns from every object capture builds.

// currentRegistrations lists the open, not deleted registrations of class c.
func currentRegistrations(c *lora.Class, where string) string {
	r := pgx.Identifier{lora.Schema, c.RegistreringTable()}.Sanitize()
	return fmt.Sprintf(`SELECT r.id FROM %s r
		WHERE upper((r.registrering).timeperiod) = 'infinity' AND (r.registrering).livscykluskode::text <> 'Slettet' %s
		ORDER BY r.id`, r, where)
}

// loadPolicy reads the classes, IT systems and AD IT users into the policy.
func (m *eventMaker) loadPolicy(ctx context.Context, db snapshot.Querier) error {
	if m.policy == nil {
		return nil
	}
	m.policy.Reset()
	load := func(c *lora.Class, sql string, args ...any) error {
		rows, err := db.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("policy: list %s: %w", c.Name, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("policy: list %s: %w", c.Name, err)
		}
		for len(ids) > 0 {
			n := min(len(ids), 2000)
			regs, err := snapshot.ReadRegistrations(ctx, db, c, ids[:n])
			if err != nil {
				return fmt.Errorf("policy: %w", err)
			}
			ids = ids[n:]
			for _, r := range regs {
				if obj, err := m.buildRaw(c, r.UUID, &r.State, nil); err == nil {
					m.policy.Learn(obj)
				}
			}
		}
		return nil
	}
	if err := load(lora.Klasse, currentRegistrations(lora.Klasse, "")); err != nil {
		return err
	}
	if err := load(lora.Itsystem, currentRegistrations(lora.Itsystem, "")); err != nil {
		return err
	}
	var ad []string
	rows, err := db.Query(ctx, `SELECT DISTINCT r.itsystem_id::text FROM actual_state.itsystem_registrering r
		WHERE upper((r.registrering).timeperiod) = 'infinity'`)
	if err != nil {
		return fmt.Errorf("policy: list IT systems: %w", err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("policy: list IT systems: %w", err)
	}
	for _, u := range all {
		if m.policy.IsADSystem(u) {
			ad = append(ad, u)
		}
	}
	if len(ad) == 0 {
		return nil
	}
	rel := pgx.Identifier{lora.Schema, lora.Organisationfunktion.RelationTable()}.Sanitize()
	return load(lora.Organisationfunktion, currentRegistrations(lora.Organisationfunktion, fmt.Sprintf(
		`AND EXISTS (SELECT 1 FROM %s rel WHERE rel.organisationfunktion_registrering_id = r.id
			AND rel.rel_type::text = 'tilknyttedeitsystemer' AND rel.rel_maal_uuid = ANY($1::uuid[]))`, rel)), ad)
}

// policyFollowUps returns tick events for the engagements of the persons
// whose AD IT user came or went with obj (an IT user), whose export title
// changes because of it. at is the system time to read the engagements
// as of: the IT user's registration time (the zero time: now).
func (m *eventMaker) policyFollowUps(ctx context.Context, obj *mo.Object, at time.Time, cause string, src event.Source) ([]*kgo.Record, error) {
	if m.policy == nil || obj == nil {
		return nil, nil
	}
	persons := m.policy.Learn(obj)
	if obj.Type != mo.ITUser || len(persons) == 0 {
		return nil, nil
	}
	if at.IsZero() {
		at = time.Now()
	}
	c := lora.Organisationfunktion
	reg := pgx.Identifier{lora.Schema, c.RegistreringTable()}.Sanitize()
	rel := pgx.Identifier{lora.Schema, c.RelationTable()}.Sanitize()
	egn := pgx.Identifier{lora.Schema, c.EgenskaberTable()}.Sanitize()
	// The person's engagements: those whose registration held at the IT
	// user's registration time or holds now. Each is republished from the
	// registration capture last published of it (the newest it has seen,
	// even when transactions committed out of their time order); one
	// capture has not published since it started is read as of at, and one
	// it has not seen yet gets the new title when its own event comes.
	rows, err := m.db.Query(ctx, fmt.Sprintf(`SELECT DISTINCT r.organisationfunktion_id::text, r.id, (r.registrering).timeperiod @> $2::timestamptz FROM %s r
		JOIN %s rel ON rel.organisationfunktion_registrering_id = r.id AND rel.rel_type::text = 'tilknyttedebrugere' AND rel.rel_maal_uuid = ANY($1::uuid[])
		JOIN %s a ON a.organisationfunktion_registrering_id = r.id AND a.funktionsnavn = 'Engagement'
		WHERE ((r.registrering).timeperiod @> $2::timestamptz OR upper((r.registrering).timeperiod) = 'infinity')
		AND (r.registrering).livscykluskode::text <> 'Slettet'`, reg, rel, egn), persons, at)
	if err != nil {
		return nil, fmt.Errorf("policy: engagements of persons whose AD IT user changed: %w", err)
	}
	pick := map[string]int64{}
	for rows.Next() {
		var u string
		var id int64
		var atT bool
		if err := rows.Scan(&u, &id, &atT); err != nil {
			rows.Close()
			return nil, fmt.Errorf("policy: engagements of persons whose AD IT user changed: %w", err)
		}
		if last, ok := m.lastEngagement[u]; ok {
			pick[u] = last.reg
		} else if atT {
			pick[u] = id
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("policy: engagements of persons whose AD IT user changed: %w", err)
	}
	ids := make([]int64, 0, len(pick))
	for _, id := range pick {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	regs, err := snapshot.ReadRegistrations(ctx, m.db, c, ids)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	changed := []string{policyExportTitle, m.policy.Config().ExportTitleField}
	var out []*kgo.Record
	for _, r := range regs {
		raw, err := m.buildRaw(c, r.UUID, &r.State, nil)
		if err != nil || raw.Type != mo.Engagement {
			continue
		}
		obj := clone(raw)
		m.policy.Apply(obj)
		if last, ok := m.lastEngagement[r.UUID]; ok {
			// Published since capture started: republish when the title
			// differs from the one published.
			if last.titles == titlesOf(obj) {
				continue
			}
		} else {
			// Not published since start: republish when the title
			// depends on the AD IT user at all.
			with, without := clone(raw), clone(raw)
			m.policy.ApplyWith(with, func(string) bool { return true })
			m.policy.ApplyWith(without, func(string) bool { return false })
			if titlesOf(with) == titlesOf(without) {
				continue
			}
		}
		m.versions.put(versionKey{c.Name, r.ID}, obj)
		m.published(obj, r.ID, false)
		env := &event.Envelope{
			Version: event.Version, ID: "policy/" + cause + "/" + r.UUID, Op: event.Tick, Type: obj.Type, UUID: r.UUID,
			Registration: &event.Registration{ID: r.ID, Time: r.Reg.Period.From, Lifecycle: string(r.Reg.Lifecycle), Actor: r.Reg.Actor, Note: m.note(r.Reg.Note)},
			Source:       src, Changed: changed, Object: obj,
		}
		v, err := env.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", env.ID, err)
		}
		m.count(string(obj.Type), string(event.Tick))
		m.countWithheld(obj)
		m.republish++
		out = append(out, &kgo.Record{Topic: m.topics.Object(obj.Type), Key: []byte(r.UUID), Value: v})
	}
	return out, nil
}

const policyExportTitle = "export_title"

// publishedEngagement is what capture last published of an engagement:
// the registration and the export titles (policyFollowUps compares them).
type publishedEngagement struct {
	reg    int64
	titles string
}

// published notes the registration an engagement event was published from
// and its export titles.
func (m *eventMaker) published(obj *mo.Object, regID int64, deleted bool) {
	if m.policy == nil || obj == nil || obj.Type != mo.Engagement {
		return
	}
	if m.lastEngagement == nil {
		m.lastEngagement = map[string]publishedEngagement{}
	}
	if deleted {
		delete(m.lastEngagement, obj.UUID)
		return
	}
	m.lastEngagement[obj.UUID] = publishedEngagement{reg: regID, titles: titlesOf(obj)}
}

func clone(o *mo.Object) *mo.Object {
	c := &mo.Object{Type: o.Type, UUID: o.UUID, Validities: make([]mo.Version, len(o.Validities))}
	for i, v := range o.Validities {
		f := make(map[string]any, len(v.Fields))
		for k, x := range v.Fields {
			f[k] = x
		}
		c.Validities[i] = mo.Version{Validity: v.Validity, Period: v.Period, Fields: f}
	}
	return c
}

// titlesOf lists an engagement's export titles by period, as one string.
func titlesOf(o *mo.Object) string {
	var b strings.Builder
	for _, v := range o.Validities {
		fmt.Fprintf(&b, "%s\x00%v\x00", v.Period.From.Format(time.RFC3339), v.Fields[policyExportTitle])
	}
	return b.String()
}

// scrubDeadLetter removes sensitive job functions from a dead letter.
func (m *eventMaker) scrubDeadLetter(d *event.DeadLetter) {
	if m.policy == nil {
		return
	}
	d.Reason = m.policy.Scrub(d.Reason)
	if len(d.Payload) > 0 {
		s := []byte(m.policy.Scrub(string(d.Payload)))
		if json.Valid(s) {
			d.Payload = s
		} else {
			d.Payload = nil
		}
	}
}

// scrubAccess removes sensitive job functions from an access event's
// arguments (a filter by job function names it along with the persons).
func (m *eventMaker) scrubAccess(a *event.Access) {
	if m.policy == nil || len(a.Arguments) == 0 {
		return
	}
	s := []byte(m.policy.Scrub(string(a.Arguments)))
	if json.Valid(s) {
		a.Arguments = s
	} else {
		a.Arguments = nil
	}
}

// note scrubs a registration note: free text an OS2mo user may have
// written a sensitive job function into ("ansat i fleksjob").
func (m *eventMaker) note(n string) string {
	if m.policy == nil {
		return n
	}
	return m.policy.Scrub(n)
}

// countWithheld counts an event whose object the policy withheld a field of.
func (m *eventMaker) countWithheld(o *mo.Object) {
	if m.policy == nil || o == nil {
		return
	}
	for _, v := range o.Validities {
		if v.Fields[policy.Withheld] != nil {
			m.withheld++
			return
		}
	}
}
