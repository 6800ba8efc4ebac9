package notify

import (
	_ "embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Rule is one kind of alert, as data: which events trigger it, which
// object it is about, the condition on that object's state, what makes two
// alerts the same, who receives it and the templates of the mail. The
// built-in rules (defaults.yaml) are OS2mo's three; a rule for another MO
// type is configuration and templates, not code (docs/notify.md).
type Rule struct {
	// Name identifies the rule in alert keys, state and metrics. A
	// configured rule with a built-in's name overrides that rule's fields.
	Name string `yaml:"name"`
	// Enabled switches the rule (built-ins: manager_removal and ituser on,
	// missing_relation off).
	Enabled *bool `yaml:"enabled"`
	// On lists the MO types whose events trigger the rule.
	On []mo.Type `yaml:"on"`
	// Target is a template giving the uuids (whitespace separated) of the
	// objects to evaluate; default the event's own object. Variables:
	// .Event (Type, UUID, Op, Day), .Current (fields of the event object's
	// version valid today), .Ever "field" (the uuids a field names in any
	// version before or after the event).
	Target string `yaml:"target"`
	// TargetType is the MO type of the targets; default On[0].
	TargetType mo.Type `yaml:"target_type"`
	// Version selects the target's version evaluated: current_or_latest
	// (OS2mo's choice: the only version, else today's, else the one ending
	// last) or current (today's; none: nothing happens).
	Version string `yaml:"version"`
	// Vars are named templates evaluated in order before When; each sees
	// the ones before it as .Vars.<name>.
	Vars []Var `yaml:"vars"`
	// When is a template; the rule alerts when it renders "true".
	When string `yaml:"when"`
	// Key is a template rendering what makes two alerts of one object the
	// same (OS2mo's dedup content, uuid-based); its SHA-256 is part of the
	// alert key.
	Key string `yaml:"key"`
	// Once is "content" (default, OS2mo's manager and IT user rules: alert
	// when the key content differs from the last one alerted for the
	// object) or "entry" (the relation rule: alert once per entry into the
	// state; Reset re-arms it).
	Once string `yaml:"once"`
	// Reset (once: entry) is a template; "true" forgets that the object
	// was alerted, so entering the state again alerts again. Default: When
	// is not "true".
	Reset string `yaml:"reset"`
	// Receivers are fixed addresses; default the notify section's.
	Receivers []string `yaml:"receivers"`
	// UnitEmails is a template giving a unit uuid: when it renders one,
	// the receivers are the EMAIL addresses of that unit's ancestor at
	// EmailDepth (OS2mo: the root's child above the unit; the root itself
	// when the unit is the root) instead of Receivers.
	UnitEmails string `yaml:"unit_emails"`
	// EmailDepth is the depth of that ancestor below the root: 0 the
	// root, 1 (default) the root's child.
	EmailDepth *int `yaml:"email_depth"`
	// Subject, Text and HTML are the mail's templates; HTML is optional
	// (html/template, escaped), Text is required.
	Subject string `yaml:"subject"`
	Text    string `yaml:"text"`
	HTML    string `yaml:"html"`
	// Params are the rule's settings, visible to templates as .Params
	// (built-ins: exclude_units, use_org_unit_emails, itsystems,
	// root_loen_org).
	Params map[string]any `yaml:"params"`
}

// Var is a named template of a rule.
type Var struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

//go:embed defaults.yaml
var defaultsYAML []byte

// DefaultRules returns the built-in rules.
func DefaultRules() []Rule {
	var rs []Rule
	if err := yaml.Unmarshal(defaultsYAML, &rs); err != nil {
		panic("notify: defaults.yaml: " + err.Error())
	}
	return rs
}

// mergeRules lays the configured rules over the built-ins: a rule with a
// built-in's name overrides the fields it sets (params key by key); others
// are added.
func mergeRules(configured []Rule) []Rule {
	rules := DefaultRules()
	idx := map[string]int{}
	for i, r := range rules {
		idx[r.Name] = i
	}
	for _, c := range configured {
		i, ok := idx[c.Name]
		if !ok {
			rules = append(rules, c)
			idx[c.Name] = len(rules) - 1
			continue
		}
		b := &rules[i]
		if c.Enabled != nil {
			b.Enabled = c.Enabled
		}
		if len(c.On) > 0 {
			b.On = c.On
		}
		set := func(dst *string, src string) {
			if src != "" {
				*dst = src
			}
		}
		set(&b.Target, c.Target)
		set((*string)(&b.TargetType), string(c.TargetType))
		set(&b.Version, c.Version)
		set(&b.When, c.When)
		set(&b.Key, c.Key)
		set(&b.Once, c.Once)
		set(&b.Reset, c.Reset)
		set(&b.UnitEmails, c.UnitEmails)
		set(&b.Subject, c.Subject)
		set(&b.Text, c.Text)
		set(&b.HTML, c.HTML)
		if len(c.Vars) > 0 {
			b.Vars = c.Vars
		}
		if len(c.Receivers) > 0 {
			b.Receivers = c.Receivers
		}
		if c.EmailDepth != nil {
			b.EmailDepth = c.EmailDepth
		}
		if b.Params == nil {
			b.Params = map[string]any{}
		}
		for k, v := range c.Params {
			b.Params[k] = v
		}
	}
	return rules
}

// compiled is a rule ready to evaluate.
type compiled struct {
	Rule
	on                                               map[mo.Type]bool
	target, when, key, reset, unitEmails, subj, text *template.Template
	vars                                             []*template.Template
	html                                             *htmltemplate.Template
	depth                                            int
}

func (r *Rule) enabled() bool { return r.Enabled == nil || *r.Enabled }

// compile checks a rule and parses its templates with funcs.
func compile(r Rule, funcs template.FuncMap) (*compiled, error) {
	var errs []error
	fail := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("notify.rules: rule %q: "+format, append([]any{r.Name}, a...)...))
	}
	if r.Name == "" || strings.ContainsAny(r.Name, "/ \t") {
		fail("name must be set and contain no '/' or space")
	}
	c := &compiled{Rule: r, on: map[mo.Type]bool{}, depth: 1}
	if len(r.On) == 0 {
		fail("on: name the MO types whose events trigger it (e.g. [manager])")
	}
	for _, t := range r.On {
		if !isMOType(t) {
			fail("on: %q is not an MO type", t)
		}
		c.on[t] = true
	}
	if c.TargetType == "" && len(r.On) > 0 {
		c.TargetType = r.On[0]
	}
	if !isMOType(c.TargetType) {
		fail("target_type %q is not an MO type", c.TargetType)
	}
	switch c.Version {
	case "":
		c.Version = "current_or_latest"
	case "current_or_latest", "current":
	default:
		fail("version %q: use current_or_latest or current", c.Version)
	}
	switch c.Once {
	case "":
		c.Once = "content"
	case "content", "entry":
	default:
		fail("once %q: use content or entry", c.Once)
	}
	if r.EmailDepth != nil {
		if *r.EmailDepth < 0 {
			fail("email_depth must be 0 or more")
		}
		c.depth = *r.EmailDepth
	}
	if r.When == "" || r.Key == "" || r.Subject == "" || r.Text == "" {
		fail("when, key, subject and text are required")
	}
	parse := func(field, src string) *template.Template {
		if src == "" {
			return nil
		}
		t, err := template.New(r.Name + "." + field).Funcs(funcs).Option("missingkey=zero").Parse(src)
		if err != nil {
			fail("%s: %v", field, err)
		}
		return t
	}
	if r.Target == "" {
		r.Target = "{{.Event.UUID}}"
	}
	c.target = parse("target", r.Target)
	c.when = parse("when", r.When)
	c.key = parse("key", r.Key)
	c.reset = parse("reset", r.Reset)
	c.unitEmails = parse("unit_emails", r.UnitEmails)
	c.subj = parse("subject", r.Subject)
	c.text = parse("text", r.Text)
	for _, v := range r.Vars {
		if v.Name == "" {
			fail("vars: a var has no name")
		}
		c.vars = append(c.vars, parse("vars."+v.Name, v.Value))
	}
	if r.HTML != "" {
		t, err := htmltemplate.New(r.Name + ".html").Funcs(htmltemplate.FuncMap(funcs)).Option("missingkey=zero").Parse(r.HTML)
		if err != nil {
			fail("html: %v", err)
		}
		c.html = t
	}
	return c, errors.Join(errs...)
}

func isMOType(t mo.Type) bool {
	for _, x := range mo.Types {
		if x == t {
			return true
		}
	}
	return false
}
