package policy

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Field names the policy adds to engagement and association versions.
const (
	// ExportTitle holds the export title (see the package doc).
	ExportTitle = "export_title"
	// ExportTitleSource says which branch of the rule gave it: SourceAD,
	// SourceBlank or SourceJobFunction (a sink that shows live class names
	// shows the class's current name for the last).
	ExportTitleSource = "export_title_source"
	SourceAD          = "ad_title"
	SourceBlank       = "blank"
	SourceJobFunction = "job_function"
	// Withheld lists, sorted, the fields of a version the policy set to
	// null because they would reveal a sensitive job function.
	Withheld = "withheld"
	// Blank is the export title of a sensitive job function, as OS2mo's
	// job-function-configurator writes it.
	Blank = " "
	// minimumPrimaryScope is OS2mo's MINIMUM_PRIMARY_SCOPE_VALUE: a
	// primary class with an integer scope at least this is primary.
	minimumPrimaryScope = 3000
)

// Policy applies a Config to objects. Make it with New.
type Policy struct {
	cfg Config
	now func() time.Time

	mu        sync.RWMutex
	keys      map[string]bool // configured sensitive uuids and user_keys
	adKeys    map[string]bool // configured AD IT system uuids and user_keys
	classes   map[string]classInfo
	itsystems map[string]string // uuid → user_key
	adUser    map[string]string // AD IT user uuid → its person, while valid today
	adCount   map[string]int    // person → AD IT users valid today
	scrubber  *regexp.Regexp
	terms     []string // the scrubber's terms, lower-case, for namesSensitive
	dirty     bool
}

type classInfo struct{ userKey, name, scope string }

// New returns the policy of cfg (defaults applied; it must validate). now
// says which day "valid today" means; nil is time.Now.
func New(cfg Config, now func() time.Time) *Policy {
	cfg.Defaults()
	if now == nil {
		now = time.Now
	}
	p := &Policy{cfg: cfg, now: now, keys: map[string]bool{}, adKeys: map[string]bool{},
		classes: map[string]classInfo{}, itsystems: map[string]string{},
		adUser: map[string]string{}, adCount: map[string]int{}, dirty: true}
	for _, k := range cfg.SensitiveJobFunctions {
		p.keys[strings.TrimSpace(k)] = true
	}
	for _, k := range cfg.ADITSystems {
		p.adKeys[strings.TrimSpace(k)] = true
	}
	return p
}

// Reset forgets everything learnt (before the store is read again).
func (p *Policy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.classes, p.itsystems = map[string]classInfo{}, map[string]string{}
	p.adUser, p.adCount = map[string]string{}, map[string]int{}
	p.dirty = true
}

// Unmatched lists the configured sensitive job functions and AD IT
// systems that name no class or IT system learnt so far (a typo, or one
// not created yet), as "sensitive_job_functions: x" and "ad_itsystems: y".
func (p *Policy) Unmatched() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	found := map[string]bool{}
	for uuid, c := range p.classes {
		found[uuid], found[c.userKey] = true, true
	}
	var out []string
	for _, k := range p.cfg.SensitiveJobFunctions {
		if !found[strings.TrimSpace(k)] {
			out = append(out, "sensitive_job_functions: "+k)
		}
	}
	systems := map[string]bool{}
	for uuid, k := range p.itsystems {
		systems[uuid], systems[k] = true, true
	}
	for _, k := range p.cfg.ADITSystems {
		if !systems[strings.TrimSpace(k)] {
			out = append(out, "ad_itsystems: "+k)
		}
	}
	return out
}

// Config returns the configuration in force (with defaults).
func (p *Policy) Config() Config { return p.cfg }

// IsADSystem reports whether the IT system uuid is one of the configured
// AD IT systems (by uuid, or by the user_key learnt for it).
func (p *Policy) IsADSystem(uuid string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.isAD(uuid)
}

func (p *Policy) isAD(uuid string) bool {
	if uuid == "" {
		return false
	}
	if p.adKeys[uuid] {
		return true
	}
	k, ok := p.itsystems[uuid]
	return ok && p.adKeys[k]
}

// Sensitive reports whether the class uuid is a sensitive job function.
func (p *Policy) Sensitive(class string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.sensitive(class)
}

func (p *Policy) sensitive(class string) bool {
	if class == "" {
		return false
	}
	if p.keys[class] {
		return true
	}
	c, ok := p.classes[class]
	return ok && c.userKey != "" && p.keys[c.userKey]
}

// HasAD reports whether person has an AD IT user valid today (as learnt).
func (p *Policy) HasAD(person string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.adCount[person] > 0
}

// current returns the version of o valid today, else its last one.
func (p *Policy) current(o *mo.Object) *mo.Version {
	if o == nil || len(o.Validities) == 0 {
		return nil
	}
	if v := o.At(mo.Period{From: p.now()}); v != nil {
		return v
	}
	return &o.Validities[len(o.Validities)-1]
}

func str(v *mo.Version, k string) string {
	if v == nil {
		return ""
	}
	s, _ := v.Fields[k].(string)
	return s
}

// Learn takes in an object capture built (any type; classes, IT systems
// and IT users matter). For an IT user in an AD IT system (now or before)
// it returns its persons, before and after, sorted: whether they have an AD
// IT user may have changed, and with it their engagements' export titles.
// An object without validities (deleted) is forgotten.
func (p *Policy) Learn(o *mo.Object) []string {
	if o == nil {
		return nil
	}
	switch o.Type {
	case mo.Class:
		p.mu.Lock()
		defer p.mu.Unlock()
		if v := p.current(o); v != nil {
			p.classes[o.UUID] = classInfo{userKey: str(v, "user_key"), name: str(v, "name"), scope: str(v, "scope")}
		} else if _, ok := p.classes[o.UUID]; ok && p.sensitive(o.UUID) {
			// Keep a deleted sensitive class: its name is still scrubbed.
			return nil
		} else {
			delete(p.classes, o.UUID)
		}
		p.dirty = true
	case mo.ITSystem:
		p.mu.Lock()
		defer p.mu.Unlock()
		if v := p.current(o); v != nil {
			p.itsystems[o.UUID] = str(v, "user_key")
		} else {
			delete(p.itsystems, o.UUID)
		}
	case mo.ITUser:
		p.mu.Lock()
		defer p.mu.Unlock()
		person := ""
		if v := o.At(mo.Period{From: p.now()}); v != nil && p.isAD(str(v, "itsystem")) {
			person = str(v, "person")
		}
		old := p.adUser[o.UUID]
		if old == "" && person == "" {
			return nil
		}
		// Every AD IT user event names its persons, flipped or not: the
		// state capture loaded at start may be ahead of the events it
		// replays, so a flip can have been learnt before its event.
		flipped := []string{}
		if old != "" {
			flipped = append(flipped, old)
		}
		if person != "" && person != old {
			flipped = append(flipped, person)
		}
		if old != person {
			if old != "" {
				delete(p.adUser, o.UUID)
				p.adCount[old]--
				if p.adCount[old] <= 0 {
					delete(p.adCount, old)
				}
			}
			if person != "" {
				p.adUser[o.UUID] = person
				p.adCount[person]++
			}
		}
		sort.Strings(flipped)
		return flipped
	}
	return nil
}

// Apply redacts an engagement or association in place and sets its export
// title (see the package doc); other types are left alone. Adjacent
// versions that the redaction made equal are merged.
func (p *Policy) Apply(o *mo.Object) {
	p.ApplyWith(o, nil)
}

// ApplyWith is Apply with the person's AD status given by hasAD (nil: as
// learnt). Capture uses it to see whether an engagement's export title
// depends on a change of the person's AD IT users.
func (p *Policy) ApplyWith(o *mo.Object, hasAD func(person string) bool) {
	if o == nil || (o.Type != mo.Engagement && o.Type != mo.Association) {
		return
	}
	p.scrubRe() // compiled before the read lock, for namesSensitive
	p.mu.RLock()
	defer p.mu.RUnlock()
	if hasAD == nil {
		hasAD = func(person string) bool { return p.adCount[person] > 0 }
	}
	for i := range o.Validities {
		f := o.Validities[i].Fields
		if f == nil {
			f = map[string]any{}
			o.Validities[i].Fields = f
		}
		p.version(o.Type, f, hasAD)
	}
	merge(o)
}

func (p *Policy) version(typ mo.Type, f map[string]any, hasAD func(string) bool) {
	jf, _ := f["job_function"].(string)
	sensitive := p.sensitive(jf)
	var withheld []string
	if sensitive {
		f["job_function"] = nil
		withheld = append(withheld, "job_function")
	}
	// Free text that names any sensitive class (an extension field saying
	// "Fleksjob, Rådhuset", now or from an earlier job) goes too.
	c := p.classes[jf]
	for k, v := range f {
		s, ok := v.(string)
		if !ok || !strings.HasPrefix(k, "extension_") || (typ == mo.Engagement && k == p.cfg.ExportTitleField) {
			// (the export title field is overwritten below)
			continue
		}
		if s == "" {
			continue
		}
		if l := strings.ToLower(s); (sensitive && reveals(l, jf, c)) || p.namesSensitive(l) {
			f[k] = nil
			withheld = append(withheld, k)
		}
	}
	name := p.classes[jf].name
	var title, source any
	switch {
	case typ == mo.Engagement && p.primary(f["primary"]) && hasAD(personOf(f)) && str(&mo.Version{Fields: f}, p.cfg.ADTitleField) != "":
		title, source = f[p.cfg.ADTitleField], SourceAD
	case sensitive:
		title, source = Blank, SourceBlank
	case jf != "" && name != "":
		title, source = name, SourceJobFunction
	}
	f[ExportTitle] = title
	f[ExportTitleSource] = source
	if typ == mo.Engagement {
		f[p.cfg.ExportTitleField] = title
	}
	if len(withheld) > 0 {
		sort.Strings(withheld)
		f[Withheld] = withheld
	} else {
		delete(f, Withheld)
	}
}

func personOf(f map[string]any) string { s, _ := f["person"].(string); return s }

// namesSensitive reports whether l (lower-case) names any sensitive
// class. Called with p.mu read-locked.
func (p *Policy) namesSensitive(l string) bool {
	for _, t := range p.terms {
		if strings.Contains(l, t) {
			return true
		}
	}
	return false
}

// reveals reports whether l (lower-case) names the class (uuid, user_key
// or name).
func reveals(l, uuid string, c classInfo) bool {
	for _, t := range []string{uuid, c.userKey, c.name} {
		if t != "" && strings.Contains(l, strings.ToLower(t)) {
			return true
		}
	}
	return false
}

func (p *Policy) primary(v any) bool {
	s, _ := v.(string)
	if s == "" {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(p.classes[s].scope))
	return err == nil && n >= minimumPrimaryScope
}

// merge joins adjacent versions whose fields became equal.
func merge(o *mo.Object) {
	if len(o.Validities) < 2 {
		return
	}
	out := o.Validities[:1]
	for _, v := range o.Validities[1:] {
		last := &out[len(out)-1]
		if last.Period.To.Equal(v.Period.From) && sameFields(last.Fields, v.Fields) {
			last.Period.To = v.Period.To
			last.Validity = mo.ValidityOf(last.Period)
			continue
		}
		out = append(out, v)
	}
	o.Validities = out
}

func sameFields(a, b map[string]any) bool {
	for k, x := range a {
		if !mo.Equal(x, b[k]) {
			return false
		}
	}
	for k, y := range b {
		if _, ok := a[k]; !ok && !mo.Equal(nil, y) {
			return false
		}
	}
	return true
}

// Scrub replaces every sensitive class's uuid, name and user_key in s
// (case-insensitively) with "[withheld]".
func (p *Policy) Scrub(s string) string {
	re := p.scrubRe()
	if re == nil || s == "" {
		return s
	}
	return re.ReplaceAllString(s, "[withheld]")
}

func (p *Policy) scrubRe() *regexp.Regexp {
	p.mu.RLock()
	if !p.dirty {
		re := p.scrubber
		p.mu.RUnlock()
		return re
	}
	p.mu.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scrubber, p.terms = p.buildScrubber()
	p.dirty = false
	return p.scrubber
}

// buildScrubber compiles the pattern of every sensitive class's uuid,
// user_key and name, and lists them lower-case. Called with p.mu held.
func (p *Policy) buildScrubber() (*regexp.Regexp, []string) {
	var terms []string
	for k := range p.keys {
		terms = append(terms, k)
	}
	for uuid, c := range p.classes {
		if p.sensitive(uuid) {
			terms = append(terms, uuid, c.userKey, c.name)
		}
	}
	var quoted, lower []string
	seen := map[string]bool{}
	for _, t := range terms {
		if t = strings.TrimSpace(t); t != "" && !seen[strings.ToLower(t)] {
			seen[strings.ToLower(t)] = true
			quoted = append(quoted, regexp.QuoteMeta(t))
			lower = append(lower, strings.ToLower(t))
		}
	}
	// Longest first, so a name is not half replaced by its user_key.
	sort.Slice(quoted, func(i, j int) bool { return len(quoted[i]) > len(quoted[j]) })
	if len(quoted) == 0 {
		return nil, nil
	}
	return regexp.MustCompile(`(?i)` + strings.Join(quoted, "|")), lower
}
