package fk

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// pass renders owners as of one moment: the configuration's class and IT
// system names resolved against the view once, and each unit's relevance
// and FK uuid computed once.
type pass struct {
	cfg *Config
	v   *view.View
	now time.Time

	fkSystem  string
	accounts  map[string]bool // IT system uuids whose IT users become FK users
	levels    map[string]bool
	types     map[string]bool
	email     []string // address class uuids in priority order; nil: any of the scope
	phone     []string
	landline  map[string]bool
	landlines []string

	// scopeTree and scopeLabels are the shared scope rule (sinks/scope)
	// split in two: roots and exclude always apply, labels yield to an FK
	// IT user.
	scopeTree, scopeLabels *scope.Rules

	relevant map[string]bool
	fkUUIDs  map[string]string
	skipped  map[string]int
}

func newPass(cfg *Config, v *view.View, now time.Time) *pass {
	p := &pass{cfg: cfg, v: v, now: now, accounts: map[string]bool{},
		relevant: map[string]bool{}, fkUUIDs: map[string]string{}, skipped: map[string]int{}}
	for _, s := range v.All(mo.ITSystem) {
		k := s.Last().Str("user_key")
		if strings.EqualFold(k, cfg.FKITSystem) {
			p.fkSystem = s.UUID
		}
		for _, a := range cfg.UserITSystems {
			if strings.EqualFold(k, a) {
				p.accounts[s.UUID] = true
			}
		}
	}
	classes := v.All(mo.Class)
	match := func(refs []string, byName bool) []string {
		var out []string
		for _, r := range refs {
			for _, c := range classes {
				last := c.Last()
				if c.UUID == r || last.Str("user_key") == r || (byName && last.Str("name") == r) {
					out = append(out, c.UUID)
				}
			}
		}
		return out
	}
	p.scopeTree = scope.New(scope.Config{Roots: cfg.Scope.Roots, Exclude: append(append([]string(nil), cfg.Scope.Exclude...), cfg.ExcludedUnits...)})
	labels := cfg.Scope.Labels
	if len(cfg.HierarchyLabels) > 0 {
		// os2sync-export's names may be class names: resolved to uuids
		// here, the uuids and user_keys as given (a name no class has
		// then lets no unit pass, as in the export).
		labels = append(append([]string(nil), cfg.HierarchyLabels...), match(cfg.HierarchyLabels, true)...)
	}
	p.scopeLabels = scope.New(scope.Config{Labels: labels})
	p.levels = set(match(cfg.IgnoredUnitLevels, false))
	p.types = set(match(cfg.IgnoredUnitTypes, false))
	p.landlines = match(cfg.LandlineAddressTypes, false)
	p.landline = set(p.landlines)
	if len(cfg.EmailAddressTypes) > 0 {
		p.email = match(cfg.EmailAddressTypes, false)
	}
	if len(cfg.PhoneAddressTypes) > 0 {
		p.phone = match(cfg.PhoneAddressTypes, false)
	}
	return p
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// isRelevant is os2mo-os2sync-export's filter_relevant_orgunit with one
// difference: a unit is relevant only when its parent is too, so every
// unit sent hangs on the tree below the top unit (the export sends a unit
// below an ignored one with a ParentOrgUnitUuid that FK does not have).
// The top unit is always relevant while it exists; a unit not valid today
// is not; an FK IT user makes a unit relevant whatever its label, level
// and type.
func (p *pass) isRelevant(unit string) bool {
	if r, ok := p.relevant[unit]; ok {
		return r
	}
	p.relevant[unit] = false // a cycle in the parents ends here
	r := p.computeRelevant(unit)
	p.relevant[unit] = r
	return r
}

func (p *pass) computeRelevant(unit string) bool {
	ver := p.v.Get(mo.OrgUnit, unit).At(p.now)
	if ver == nil {
		return false
	}
	if unit == p.cfg.TopUnit {
		return true
	}
	parent := ver.Str("parent")
	if parent == "" || !p.isRelevant(parent) || !p.scopeTree.UnitPasses(scope.OfView(p.v, p.now), unit) {
		return false
	}
	if len(p.unitFKITUsers(unit)) > 0 {
		return true
	}
	if !p.scopeLabels.UnitPasses(scope.OfView(p.v, p.now), unit) {
		return false
	}
	return !p.levels[ver.Str("org_unit_level")] && !p.types[ver.Str("unit_type")]
}

// unitFKITUsers returns the unit's IT users in the FK IT system, valid now.
func (p *pass) unitFKITUsers(unit string) []*view.Version {
	var out []*view.Version
	if p.fkSystem == "" {
		return nil
	}
	for _, it := range p.v.Referrers(unit, mo.ITUser, "org_unit", &p.now) {
		if ver := it.At(p.now); ver.Str("itsystem") == p.fkSystem {
			out = append(out, ver)
		}
	}
	return out
}

// unitFKUUID is the unit's uuid in FK Organisation: the user_key of its
// FK IT user when that is a uuid (the first by uuid when there are
// several), else its MO uuid.
func (p *pass) unitFKUUID(unit string) string {
	if u, ok := p.fkUUIDs[unit]; ok {
		return u
	}
	out := unit
	for _, ver := range p.unitFKITUsers(unit) {
		if k := strings.ToLower(ver.Str("user_key")); uuidRe.MatchString(k) {
			out = k
			break
		}
	}
	p.fkUUIDs[unit] = out
	return out
}

// renderUnit returns the unit's OrgUnit, or nil when it is not to be in FK.
func (p *pass) renderUnit(unit string) *OrgUnit {
	if !p.isRelevant(unit) {
		return nil
	}
	ver := p.v.Get(mo.OrgUnit, unit).At(p.now)
	ou := &OrgUnit{Uuid: p.unitFKUUID(unit), Name: ver.Str("name")}
	if ou.Name == "" {
		p.skipped["no_name"]++
		return nil
	}
	if unit != p.cfg.TopUnit {
		ou.ParentOrgUnitUuid = strp(p.unitFKUUID(ver.Str("parent")))
	}
	if p.cfg.SyncKLE {
		seen := map[string]bool{}
		for _, k := range p.v.Referrers(unit, mo.KLE, "org_unit", &p.now) {
			if n := k.At(p.now).Str("kle_number"); n != "" && !seen[n] {
				seen[n] = true
				ou.Tasks = append(ou.Tasks, n)
			}
		}
	}
	if p.cfg.SyncManagers {
		ou.ManagerUuid = p.managerFKUUID(unit)
	}
	for _, a := range p.v.UnitAddresses(unit, p.now) { // by uuid: the last of a field wins
		av := a.At(p.now)
		typ := av.Str("address_type")
		scope, typeKey := p.classScope(typ), p.v.ClassUserKey(typ, p.now)
		value := strp(av.Str("value"))
		switch {
		case scope == "EMAIL":
			ou.Email = value
		case scope == "EAN":
			ou.Ean = value
		case scope == "PHONE" && p.landline[typ]:
			ou.Landline = value
		case scope == "PHONE":
			ou.PhoneNumber = value
		case scope == "DAR" && typeKey == "Contact":
			ou.Contact = value
		case scope == "DAR" && typeKey == "Location":
			ou.Location = value
		case scope == "DAR":
			ou.Post = value
		case scope == "PNUMBER":
			ou.PNR = value
		case scope == "WWW":
			ou.Url = value
		case scope == "TEXT" && typeKey == "ContactOpenHours":
			ou.ContactOpenHours = value
		case scope == "TEXT" && typeKey == "PhoneOpenHours":
			ou.PhoneOpenHours = value
		case scope == "TEXT" && typeKey == "DtrId":
			ou.DtrId = value
		}
	}
	ou.normalise()
	return ou
}

// managerFKUUID: the FK uuid (external_id of the FK IT user) of the
// person of the unit's first manager (by uuid); nil for a vacant post.
func (p *pass) managerFKUUID(unit string) *string {
	ms := p.v.UnitManagers(unit, p.now)
	if len(ms) == 0 {
		return nil
	}
	person := ms[0].At(p.now).Str("person")
	if person == "" {
		return nil
	}
	for _, it := range p.v.PersonITUsers(person, p.now) {
		ver := it.At(p.now)
		if ver.Str("itsystem") == p.fkSystem && uuidRe.MatchString(ver.Str("external_id")) {
			return strp(strings.ToLower(ver.Str("external_id")))
		}
	}
	return nil
}

func (p *pass) classScope(uuid string) string {
	c := p.v.Class(uuid)
	ver := c.At(p.now)
	if ver == nil {
		ver = c.Last()
	}
	return ver.Str("scope")
}

// renderPerson returns the person's FK users: one per account IT user
// (valid now, in a user_itsystems system) that has at least one position.
func (p *pass) renderPerson(person string) []*User {
	po := p.v.Get(mo.Person, person)
	pv := po.ValidFrom(p.now)
	if pv == nil {
		pv = po.Last()
	}
	if pv == nil {
		return nil
	}
	its := p.v.PersonITUsers(person, p.now)
	fkOf := map[string][]string{} // FK IT user user_key (account objectGUID) → FK uuids
	for _, it := range its {
		ver := it.At(p.now)
		if p.fkSystem != "" && ver.Str("itsystem") == p.fkSystem {
			fkOf[ver.Str("user_key")] = append(fkOf[ver.Str("user_key")], ver.Str("external_id"))
		}
	}
	name := join(pv.Str("given_name"), pv.Str("surname"))
	if nick := join(pv.Str("nickname_given_name"), pv.Str("nickname_surname")); p.cfg.UseNickname && nick != "" {
		name = nick
	}
	var out []*User
	for _, it := range its {
		ver := it.At(p.now)
		if !p.accounts[ver.Str("itsystem")] {
			continue
		}
		ext := ver.Str("external_id")
		if ext == "" {
			p.skipped["no_external_id"]++
			continue
		}
		uuid := ext
		if ids := fkOf[ext]; len(ids) == 1 && ids[0] != "" {
			uuid = ids[0]
		}
		uuid = strings.ToLower(uuid)
		if !uuidRe.MatchString(uuid) {
			p.skipped["bad_uuid"]++
			continue
		}
		u := &User{Uuid: uuid, UserId: ver.Str("user_key"), Person: Person{Name: name}}
		if u.UserId == "" || name == "" {
			p.skipped["no_name"]++
			continue
		}
		if p.cfg.SyncCPR {
			u.Person.Cpr = strp(pv.Str("cpr_number"))
		}
		u.Positions = p.positions(it.UUID)
		if len(u.Positions) == 0 {
			continue
		}
		p.userAddresses(it.UUID, u)
		u.normalise()
		out = append(out, u)
	}
	return out
}

func join(a, b string) string { return strings.TrimSpace(a + " " + b) }

// positions: one per engagement linked to the account, valid now or
// later, in a relevant unit, named by its export title (never a withheld
// job function: the policy has removed it from the event).
func (p *pass) positions(ituser string) []Position {
	var out []Position
	for _, e := range p.v.ITUserEngagements(ituser, p.now) {
		ev := e.ValidFrom(p.now)
		if ev == nil {
			continue
		}
		unit := ev.Str("org_unit")
		if !p.isRelevant(unit) {
			continue
		}
		title := ""
		if f := p.cfg.JobTitleField; f != "-" {
			title = ev.Str(f)
		}
		if title == "" && ev.Str("job_function") != "" {
			title = p.v.ClassName(ev.Str("job_function"), p.now)
		}
		if title == "" {
			p.skipped["no_title"]++
			continue
		}
		pos := Position{Name: title, OrgUnitUuid: p.unitFKUUID(unit)}
		if first := e.Versions[0].Validity().From; first != nil {
			s := string(*first)
			pos.StartDate = &s
		}
		out = append(out, pos)
	}
	return out
}

// userAddresses sets Email, PhoneNumber and Landline from the addresses
// linked to the account, public or without visibility, by the configured
// class priority (the first class of the list that has one wins; among
// addresses of one class, the first by uuid).
func (p *pass) userAddresses(ituser string, u *User) {
	var emails, phones, landlines []*view.Version
	for _, a := range p.v.ITUserAddresses(ituser, p.now) {
		av := a.At(p.now)
		if vis := av.Str("visibility"); vis != "" && p.classScope(vis) != "PUBLIC" {
			continue
		}
		typ := av.Str("address_type")
		switch p.classScope(typ) {
		case "EMAIL":
			emails = append(emails, av)
		case "PHONE":
			if p.landline[typ] {
				landlines = append(landlines, av)
			} else {
				phones = append(phones, av)
			}
		}
	}
	u.Email = choose(emails, p.email)
	u.PhoneNumber = choose(phones, p.phone)
	u.Landline = choose(landlines, p.landlines)
}

func choose(cands []*view.Version, priority []string) *string {
	best, rank := "", -1
	for _, c := range cands {
		r := 0
		if priority != nil {
			r = indexOf(priority, c.Str("address_type"))
			if r < 0 {
				continue
			}
		}
		if rank < 0 || r < rank {
			best, rank = c.Str("value"), r
		}
	}
	return strp(best)
}

func indexOf(xs []string, x string) int {
	for i, s := range xs {
		if s == x {
			return i
		}
	}
	return -1
}

// depth is the number of ancestors of a unit now (parents are sent before
// their children).
func (p *pass) depth(unit string) int { return len(p.v.UnitPath(unit, p.now)) }

// describe names a rendered object in logs and dead letters.
func describe(kind, fkUUID, owner string) string {
	if kind == kindUser {
		return fmt.Sprintf("user %s (person %s)", fkUUID, owner)
	}
	return fmt.Sprintf("orgUnit %s (unit %s)", fkUUID, owner)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
