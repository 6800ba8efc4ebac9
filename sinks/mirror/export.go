package mirror

import (
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// export writes the rows of object k into the table writes: every table of
// its type gets k as an owner (so rows it no longer has are deleted) and
// its current rows.
func (d *deriver) export(k objKey, ws func(table string) *tableWrite) {
	if !d.fresh[k] {
		for _, t := range tablesOf[k.typ] {
			ws(t).owner(k.uuid)
		}
	}
	o := d.st.get(k)
	if o == nil {
		return
	}
	add := func(table string, r row) { ws(table).add(k, r) }
	u := k.uuid
	switch k.typ {
	case mo.Facet:
		if v := d.latest(o); v != nil {
			add(tFacetter, row{"uuid": u, "bvn": text(v, "user_key")})
		}
	case mo.Class:
		if v := d.latest(o); v != nil {
			facet := d.latest(d.st.get(objKey{mo.Facet, uuidOf(v.Fields["facet"])}))
			add(tKlasser, row{"uuid": u, "bvn": text(v, "user_key"), "titel": text(v, "name"),
				"facet_uuid": ref(v, "facet"), "facet_bvn": text(facet, "user_key")})
		}
	case mo.ITSystem:
		if v := d.latest(o); v != nil {
			add(tITSystemer, row{"uuid": u, "navn": text(v, "name")})
		}
	}
	for _, v := range d.inScope(k, d.versions(o)) {
		switch k.typ {
		case mo.Person:
			add(tBrugere, row{"uuid": u, "bvn": text(v, "user_key"), "fornavn": text(v, "given_name"), "efternavn": text(v, "surname"),
				"kaldenavn_fornavn": text(v, "nickname_given_name"), "kaldenavn_efternavn": text(v, "nickname_surname"),
				"cpr": text(v, "cpr_number")}.dates(d.span(o, v)))
		case mo.OrgUnit:
			r := row{"uuid": u, "navn": text(v, "name"), "bvn": text(v, "user_key"), "forældreenhed_uuid": ref(v, "parent"),
				"enhedstype_uuid": ref(v, "unit_type"), "enhedstype_titel": d.title(v, "unit_type"),
				"enhedsniveau_uuid": ref(v, "org_unit_level"), "enhedsniveau_titel": d.title(v, "org_unit_level"),
				"tidsregistrering_uuid": ref(v, "time_planning"), "tidsregistrering_titel": d.title(v, "time_planning"),
				"opmærkning_uuid": ref(v, "org_unit_hierarchy"), "opmærkning_titel": d.title(v, "org_unit_hierarchy")}
			if d.mode == Actual {
				r["organisatorisk_sti"] = d.path(u)
				r["leder_uuid"] = nullIfEmpty(d.managerOf(u))
				r["fungerende_leder_uuid"] = nullIfEmpty(d.actingManagerOf(u))
			}
			add(tEnheder, r.dates(d.span(o, v)))
		case mo.Engagement:
			r := row{"uuid": u, "bruger_uuid": ref(v, "person"), "enhed_uuid": ref(v, "org_unit"), "bvn": text(v, "user_key"),
				"arbejdstidsfraktion":  fraction(v),
				"engagementstype_uuid": ref(v, "engagement_type"), "engagementstype_titel": d.title(v, "engagement_type"),
				"primærtype_uuid": ref(v, "primary"), "primærtype_titel": d.title(v, "primary"),
				"stillingsbetegnelse_uuid": ref(v, "job_function"), "stillingsbetegnelse_titel": d.jobTitle(v)}
			r["primær_boolean"] = d.isPrimary(v)
			for i := 1; i <= 10; i++ {
				r["udvidelse_"+itoa(i)] = text(v, "extension_"+itoa(i))
			}
			add(tEngagementer, r.dates(d.span(o, v)))
		case mo.Association:
			var union any
			if dyn := uuidsOf(v.Fields["dynamic_classes"]); len(dyn) > 0 {
				union = text(d.class(dyn[0]), "name")
			}
			add(tTilknytninger, row{"uuid": u, "bvn": text(v, "user_key"), "bruger_uuid": ref(v, "person"), "enhed_uuid": ref(v, "org_unit"),
				"tilknytningstype_uuid": ref(v, "association_type"), "tilknytningstype_titel": d.title(v, "association_type"),
				"stillingsbetegnelse_uuid": ref(v, "job_function"), "stillingsbetegnelse_titel": d.jobTitle(v),
				"it_forbindelse_uuid": ref(v, "it_user"), "primær_boolean": d.primaryFlag(v), "faglig_organisation": union}.dates(d.span(o, v)))
		case mo.ITUser:
			add(tITForbindelse, row{"uuid": u, "it_system_uuid": ref(v, "itsystem"), "bruger_uuid": ref(v, "person"),
				"enhed_uuid": ref(v, "org_unit"), "brugernavn": text(v, "user_key"), "eksternt_id": text(v, "external_id"),
				"primær_boolean": d.primaryFlag(v)}.dates(d.span(o, v)))
			for _, e := range uuidsOf(v.Fields["engagements"]) {
				add(tITForbEngage, row{"it_forbindelse_uuid": u, "engagement_uuid": e}.dates(d.span(o, v)))
			}
		case mo.Address:
			typ, vis := d.class(uuidOf(v.Fields["address_type"])), d.class(uuidOf(v.Fields["visibility"]))
			scope, _ := text(typ, "scope").(string)
			r := row{"uuid": u, "bvn": text(v, "user_key"), "bruger_uuid": ref(v, "person"), "enhed_uuid": ref(v, "org_unit"),
				"engagement_uuid": ref(v, "engagement"), "ituser_uuid": ref(v, "ituser"), "værdi": text(v, "value"),
				"adressetype_uuid": ref(v, "address_type"), "adressetype_bvn": text(typ, "user_key"), "adressetype_titel": text(typ, "name"),
				"synlighed_uuid": ref(v, "visibility"), "synlighed_scope": text(vis, "scope"), "synlighed_titel": text(vis, "name")}
			if typ != nil {
				r["adressetype_scope"] = scope
				if s, ok := addressScopes[scope]; ok {
					r["adressetype_scope"] = s
				}
			}
			if scope == "DAR" {
				r["dar_uuid"] = text(v, "value")
			}
			add(tAdresser, r.dates(d.span(o, v)))
		case mo.Manager:
			add(tLedere, row{"uuid": u, "bruger_uuid": ref(v, "person"), "enhed_uuid": ref(v, "org_unit"),
				"ledertype_uuid": ref(v, "manager_type"), "ledertype_titel": d.title(v, "manager_type"),
				"niveautype_uuid": ref(v, "manager_level"), "niveautype_titel": d.title(v, "manager_level")}.dates(d.span(o, v)))
			for _, resp := range uuidsOf(v.Fields["responsibilities"]) {
				add(tLederAnsvar, row{"leder_uuid": u, "lederansvar_uuid": resp, "lederansvar_titel": text(d.class(resp), "name")}.dates(d.span(o, v)))
			}
		case mo.Leave:
			add(tOrlover, row{"uuid": u, "bvn": text(v, "user_key"), "bruger_uuid": ref(v, "person"),
				"orlovstype_uuid": ref(v, "leave_type"), "orlovstype_titel": d.title(v, "leave_type"),
				"engagement_uuid": ref(v, "engagement")}.dates(d.span(o, v)))
		case mo.KLE:
			for _, aspect := range uuidsOf(v.Fields["kle_aspects"]) {
				add(tKLE, row{"uuid": u, "enhed_uuid": ref(v, "org_unit"), "kle_aspekt_uuid": aspect,
					"kle_aspekt_titel": text(d.class(aspect), "name"),
					"kle_nummer_uuid":  ref(v, "kle_number"), "kle_nummer_titel": d.title(v, "kle_number")}.dates(d.span(o, v)))
			}
		case mo.RelatedUnit:
			units := uuidsOf(v.Fields["org_units"])
			r := row{"uuid": u}
			if len(units) > 0 {
				r["enhed1_uuid"] = units[0]
			}
			if len(units) > 1 {
				r["enhed2_uuid"] = units[1]
			}
			add(tSammenkobling, r.dates(d.span(o, v)))
		}
	}
}

// fraction is arbejdstidsfraktion: OS2mo's read layer drops falsy values,
// so a stored 0 is NULL in the export.
func fraction(v *mo.Version) any {
	if n, ok := integer(v, "fraction").(int64); ok && n != 0 {
		return n
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
