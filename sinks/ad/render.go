package ad

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

var copenhagen = mo.Location

// lookup is what rendering needs besides the view: the DN of a person's
// account (for the manager attribute). "" when the person has none.
type lookup interface {
	accountDN(person string) (string, error)
}

// renderer builds account views from the MO view.
type renderer struct {
	v      *view.View
	cfg    *Config
	system func() string // uuid of the AD IT system, "" while unknown
	// scope lets only engagements in units that pass decide an account
	// (nil: every engagement).
	scope *scope.Rules
}

// adITUsers returns the person's IT users in the AD IT system valid at t
// or starting later, by uuid.
func (r *renderer) adITUsers(person string, t time.Time) []*view.Object {
	sys := r.system()
	if sys == "" {
		return nil
	}
	var out []*view.Object
	for _, o := range r.v.Referrers(person, mo.ITUser, "person", nil) {
		if ver := o.ValidFrom(t); ver != nil && ver.Str("itsystem") == sys && ver.Str("person") == person {
			out = append(out, o)
		}
	}
	return out
}

// guidOf returns the objectGUID an AD IT user names (its configured
// field at t), or "".
func (r *renderer) guidOf(it *view.Object, t time.Time) string {
	return strings.TrimSpace(it.ValidFrom(t).Str(r.cfg.GUIDField))
}

// personData is the template view of a person at t.
func (r *renderer) personData(uuid string, t time.Time) PersonData {
	p := PersonData{UUID: uuid}
	ver := r.v.Get(mo.Person, uuid).ValidFrom(t)
	if ver == nil {
		return p
	}
	p.UserKey = ver.Str("user_key")
	p.GivenName, p.Surname = ver.Str("given_name"), ver.Str("surname")
	p.Name = strings.TrimSpace(p.GivenName + " " + p.Surname)
	p.NicknameGivenName, p.NicknameSurname = ver.Str("nickname_given_name"), ver.Str("nickname_surname")
	p.Nickname = strings.TrimSpace(p.NicknameGivenName + " " + p.NicknameSurname)
	p.CPR = ver.Str("cpr_number")
	return p
}

// engagements returns the engagements that decide an account: the IT
// user's linked ones (the person's when it links none or it is nil),
// valid at t, else those starting after t, and of those only the ones
// that pass the sink's scope (their unit as of t); primary first, then by
// start. active reports whether one is valid at t.
func (r *renderer) engagements(person string, it *view.Object, t time.Time) (engs []*view.Object, active bool) {
	var cands []*view.Object
	if it != nil {
		if ver := it.ValidFrom(t); ver != nil {
			for _, e := range ver.UUIDs("engagements") {
				if o := r.v.Get(mo.Engagement, e); o != nil {
					cands = append(cands, o)
				}
			}
		}
	}
	if len(cands) == 0 {
		cands = r.v.PersonEngagementsEver(person)
	}
	var now, later []*view.Object
	for _, e := range cands {
		if !r.scope.PassesVersion(r.v, e, e.ValidFrom(t), t) {
			continue
		}
		if e.At(t) != nil {
			now = append(now, e)
		} else if e.ValidFrom(t) != nil {
			later = append(later, e)
		}
	}
	engs, active = now, len(now) > 0
	if !active {
		engs = later
	}
	sort.SliceStable(engs, func(i, j int) bool {
		a, b := engs[i].ValidFrom(t), engs[j].ValidFrom(t)
		pa, pb := r.primary(a), r.primary(b)
		if pa != pb {
			return pa
		}
		if sa, sb := a.Period().From, b.Period().From; !sa.Equal(sb) {
			return sa.Before(sb)
		}
		return engs[i].UUID < engs[j].UUID
	})
	return engs, active
}

// primary: OS2mo's is_primary — the primary class's scope is a number of
// at least 3000 (or, in stores without scopes, its user_key is "primary").
func (r *renderer) primary(ver *view.Version) bool {
	c := ver.Str("primary")
	if c == "" {
		return false
	}
	o := r.v.Class(c)
	cv := o.Last()
	if n, err := strconv.Atoi(cv.Str("scope")); err == nil {
		return n >= 3000
	}
	return cv.Str("user_key") == "primary"
}

func (r *renderer) className(uuid string, t time.Time) string {
	if uuid == "" {
		return ""
	}
	return r.v.ClassName(uuid, t)
}

// engagementData renders one engagement at t (or its first later version).
func (r *renderer) engagementData(e *view.Object, person string, t time.Time, lk lookup) (EngagementData, error) {
	ver := e.ValidFrom(t)
	val := ver.Validity()
	d := EngagementData{UUID: e.UUID, UserKey: ver.Str("user_key"), Primary: r.primary(ver),
		JobFunction: r.className(ver.Str("job_function"), t), EngagementType: r.className(ver.Str("engagement_type"), t)}
	if val.From != nil {
		d.Start = string(*val.From)
	}
	if val.To != nil {
		d.End = string(*val.To)
	}
	// The export title the policy computed wins; a withheld job function
	// is null already, so JobFunction is "" then.
	if x, ok := ver.Get("export_title").(string); ok {
		d.Title = strings.TrimSpace(x)
	} else {
		d.Title = d.JobFunction
	}
	for i := 1; i <= 10; i++ {
		k := "extension_" + strconv.Itoa(i)
		if s := ver.Str(k); s != "" {
			if d.Extension == nil {
				d.Extension = map[string]string{}
			}
			d.Extension[k] = s
		}
	}
	at := t
	if e.At(t) == nil {
		at = ver.Period().From // a future engagement: its unit as of its start
	}
	unit := ver.Str("org_unit")
	d.Unit = r.unitData(unit, at)
	mgr, err := r.manager(unit, person, at, lk)
	if err != nil {
		return d, err
	}
	d.Manager = mgr
	return d, nil
}

func (r *renderer) unitData(unit string, t time.Time) UnitData {
	u := UnitData{UUID: unit}
	path := r.v.UnitPath(unit, t)
	if len(path) == 0 {
		return u
	}
	for _, o := range path {
		u.Path = append(u.Path, o.At(t).Str("name"))
	}
	u.PathString = strings.Join(u.Path, " / ")
	ver := path[len(path)-1].At(t)
	u.UserKey, u.Name = ver.Str("user_key"), ver.Str("name")
	u.UnitType, u.Level = r.className(ver.Str("unit_type"), t), r.className(ver.Str("org_unit_level"), t)
	return u
}

// manager finds the nearest manager of unit or its ancestors who is not
// the person itself (OS2mo's inherited manager).
func (r *renderer) manager(unit, person string, t time.Time, lk lookup) (*ManagerData, error) {
	path := r.v.UnitPath(unit, t)
	for i := len(path) - 1; i >= 0; i-- {
		for _, m := range r.v.UnitManagers(path[i].UUID, t) {
			p := m.At(t).Str("person")
			if p == "" || p == person {
				continue
			}
			md := &ManagerData{Person: r.personData(p, t)}
			if lk != nil {
				dn, err := lk.accountDN(p)
				if err != nil {
					return nil, err
				}
				md.DN = dn
			}
			return md, nil
		}
	}
	return nil, nil
}

// addresses lists the addresses of the account valid at t: linked to the
// IT user, then to the engagements, then the person's others.
func (r *renderer) addresses(person string, it *view.Object, engs []*view.Object, t time.Time) []AddressData {
	var out []AddressData
	seen := map[string]bool{}
	add := func(os []*view.Object, via string) {
		for _, o := range os {
			if seen[o.UUID] {
				continue
			}
			seen[o.UUID] = true
			ver := o.At(t)
			typ := ver.Str("address_type")
			c := r.v.Class(typ)
			cv := c.At(t)
			if cv == nil {
				cv = c.Last()
			}
			out = append(out, AddressData{UUID: o.UUID, Type: cv.Str("user_key"), Scope: cv.Str("scope"),
				Value: ver.Str("value"), Visibility: r.className(ver.Str("visibility"), t), Via: via})
		}
	}
	if it != nil {
		add(r.v.ITUserAddresses(it.UUID, t), "ituser")
	}
	for _, e := range engs {
		add(r.v.EngagementAddresses(e.UUID, t), "engagement")
	}
	var own []*view.Object
	for _, a := range r.v.PersonAddresses(person, t) {
		ver := a.At(t)
		if ver.Str("ituser") == "" && ver.Str("engagement") == "" {
			own = append(own, a)
		}
	}
	add(own, "person")
	return out
}

// data builds the account view of person (linked by it, or nil) at t;
// active reports whether a deciding engagement is valid at t.
func (r *renderer) data(person string, it *view.Object, t time.Time, lk lookup) (*Data, bool, error) {
	d := &Data{Person: r.personData(person, t), Today: string(mo.DateOf(t))}
	if it != nil {
		ver := it.ValidFrom(t)
		d.ITUser = &ITUserData{UUID: it.UUID, UserKey: ver.Str("user_key"), ExternalID: ver.Str("external_id")}
	}
	engs, active := r.engagements(person, it, t)
	for _, e := range engs {
		ed, err := r.engagementData(e, person, t, lk)
		if err != nil {
			return nil, false, err
		}
		d.Engagements = append(d.Engagements, ed)
	}
	if len(d.Engagements) > 0 {
		d.Engagement = &d.Engagements[0]
	}
	d.Addresses = r.addresses(person, it, engs, t)
	for _, a := range d.Addresses {
		switch {
		case a.Scope == "EMAIL" && d.Email == "":
			d.Email = a.Value
		case a.Scope == "PHONE" && d.Phone == "":
			d.Phone = a.Value
		}
	}
	for _, o := range r.v.All(mo.Organisation) {
		if ver := o.ValidFrom(t); ver != nil {
			d.Organisation = ver.Str("name")
			break
		}
	}
	return d, active, nil
}
