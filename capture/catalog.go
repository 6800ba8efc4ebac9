package capture

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/os2mo-cdc/mocdc/capture/snapshot"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// catalog is what capture knows of classes, facets and root organisations,
// for build.Catalog: loaded from the store at start and kept current from
// the objects capture builds.
type catalog struct {
	mu         sync.RWMutex
	classFacet map[string]string // class uuid -> facet uuid
	facetKey   map[string]string // facet uuid -> user_key
	orgs       map[string]bool
}

func newCatalog() *catalog {
	return &catalog{classFacet: map[string]string{}, facetKey: map[string]string{}, orgs: map[string]bool{}}
}

// FacetOfClass implements build.Catalog.
func (c *catalog) FacetOfClass(class string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.facetKey[c.classFacet[class]]
}

// IsOrganisation implements build.Catalog.
func (c *catalog) IsOrganisation(uuid string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.orgs[uuid]
}

// AddOrganisation records a root organisation.
func (c *catalog) AddOrganisation(uuid string) {
	c.mu.Lock()
	c.orgs[uuid] = true
	c.mu.Unlock()
}

// Learn updates the catalog from an object capture built.
func (c *catalog) Learn(o *mo.Object) {
	if o == nil || len(o.Validities) == 0 {
		return
	}
	v := o.Validities[len(o.Validities)-1].Fields
	c.mu.Lock()
	defer c.mu.Unlock()
	switch o.Type {
	case mo.Class:
		if f, ok := v["facet"].(string); ok {
			c.classFacet[o.UUID] = f
		}
	case mo.Facet:
		if k, ok := v["user_key"].(string); ok {
			c.facetKey[o.UUID] = k
		}
	case mo.Organisation:
		c.orgs[o.UUID] = true
	}
}

// Load reads the current classes, facets and organisations from the store.
func (c *catalog) Load(ctx context.Context, db snapshot.Querier) error {
	load := func(sql string, put func(a, b string)) error {
		rows, err := db.Query(ctx, sql)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				return err
			}
			put(a, b)
		}
		return rows.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := load(`SELECT r.klasse_id::text, rel.rel_maal_uuid::text
		FROM actual_state.klasse_registrering r
		JOIN actual_state.klasse_relation rel ON rel.klasse_registrering_id = r.id
		WHERE upper((r.registrering).timeperiod) = 'infinity' AND rel.rel_type = 'facet' AND rel.rel_maal_uuid IS NOT NULL`,
		func(a, b string) { c.classFacet[a] = b })
	if err == nil {
		err = load(`SELECT r.facet_id::text, a.brugervendtnoegle
			FROM actual_state.facet_registrering r
			JOIN actual_state.facet_attr_egenskaber a ON a.facet_registrering_id = r.id
			WHERE upper((r.registrering).timeperiod) = 'infinity'`,
			func(a, b string) { c.facetKey[a] = b })
	}
	if err == nil {
		err = load(`SELECT id::text, '' FROM actual_state.organisation`, func(a, _ string) { c.orgs[a] = true })
	}
	if err != nil && err != pgx.ErrNoRows {
		return fmt.Errorf("load class catalog: %w", err)
	}
	return nil
}
