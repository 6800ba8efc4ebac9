package ad

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// uacDisabled is userAccountControl's ACCOUNTDISABLE bit.
const uacDisabled = 0x2

// dnAttributes hold DNs: compared as DNs, not as strings.
var dnAttributes = map[string]bool{"manager": true, "secretary": true, "assistant": true, "seealso": true}

// change is one attribute to write: its values as read and as wanted
// (none: delete the attribute).
type change struct {
	Attr     string
	Old, New []string
}

// plan is every write one account needs: at most one modify DN (rename
// and/or move) and one modify with all attribute changes.
type plan struct {
	DN string
	// NewRDN and NewSuperior, when set, rename and/or move the account.
	NewRDN, NewSuperior string
	Changes             []change
}

func (p *plan) empty() bool { return p.NewRDN == "" && p.NewSuperior == "" && len(p.Changes) == 0 }

// sameValues compares attribute values as AD does for string syntaxes:
// case-insensitively, as sets (multi-valued attributes have no order);
// DN-valued attributes compare as DNs.
func sameValues(attr string, a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	norm := func(xs []string) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = strings.ToLower(strings.TrimSpace(x))
			if dnAttributes[strings.ToLower(attr)] {
				if d, err := ldap.ParseDN(x); err == nil {
					out[i] = strings.ToLower(d.String())
				}
			}
		}
		sort.Strings(out)
		return out
	}
	na, nb := norm(a), norm(b)
	for i := range na {
		if na[i] != nb[i] {
			return false
		}
	}
	return true
}

// rdnValue returns the value of the first RDN of dn and its parent DN.
func splitDN(dn string) (rdnAttr, rdnValue, parent string, err error) {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return "", "", "", fmt.Errorf("account DN %q does not parse: %v", dn, err)
	}
	first := d.RDNs[0].Attributes[0]
	rest := &ldap.DN{RDNs: d.RDNs[1:]}
	return first.Type, first.Value, rest.String(), nil
}

// suffixed matches a CN made unique with a counter: "Anna Berg 2".
func suffixed(cur, want string) bool {
	if !strings.HasPrefix(strings.ToLower(cur), strings.ToLower(want)+" ") {
		return false
	}
	n, err := strconv.Atoi(cur[len(want)+1:])
	return err == nil && n >= 2
}

var multiSpace = regexp.MustCompile(`\s+`)

// cleanCN makes a rendered name usable as an RDN value: one line, single
// spaces, at most 64 characters (AD's limit for cn).
func cleanCN(s string) string {
	s = strings.TrimSpace(multiSpace.ReplaceAllString(s, " "))
	if r := []rune(s); len(r) > 64 {
		s = strings.TrimSpace(string(r[:64]))
	}
	return s
}

// diffAccount compares what the account holds with the desired attributes
// (cn, when present, is the wanted RDN value), the wanted parent OU ("" to
// leave it) and the wanted enabled state (nil to leave it).
func diffAccount(a *account, desired map[string][]string, ou string, enabled *bool) (*plan, error) {
	p := &plan{DN: a.DN}
	_, curCN, parent, err := splitDN(a.DN)
	if err != nil {
		return nil, err
	}
	attrs := make([]string, 0, len(desired))
	for k := range desired {
		attrs = append(attrs, k)
	}
	sort.Strings(attrs)
	for _, attr := range attrs {
		want := desired[attr]
		if strings.EqualFold(attr, "cn") {
			if len(want) == 0 {
				continue // no name: keep the one it has
			}
			w := cleanCN(want[0])
			if !strings.EqualFold(curCN, w) && !suffixed(curCN, w) {
				p.NewRDN = "CN=" + ldap.EscapeDN(w)
			}
			continue
		}
		cur := a.get(attr)
		if !sameValues(attr, cur, want) {
			p.Changes = append(p.Changes, change{Attr: attr, Old: cur, New: want})
		}
	}
	if ou != "" {
		pd, err1 := ldap.ParseDN(parent)
		od, err2 := ldap.ParseDN(ou)
		if err1 != nil || err2 != nil || !pd.EqualFold(od) {
			p.NewSuperior = ou
		}
	}
	if enabled != nil {
		disabled := a.UAC&uacDisabled != 0
		if disabled == *enabled {
			uac := a.UAC &^ uacDisabled
			if !*enabled {
				uac |= uacDisabled
			}
			p.Changes = append(p.Changes, change{Attr: "userAccountControl",
				Old: []string{strconv.FormatInt(a.UAC, 10)}, New: []string{strconv.FormatInt(uac, 10)}})
		}
	}
	return p, nil
}

// modifyRequest is the one LDAP modify of a plan's attribute changes on dn.
func modifyRequest(dn string, cs []change) *ldap.ModifyRequest {
	m := ldap.NewModifyRequest(dn, nil)
	for _, c := range cs {
		switch {
		case len(c.New) > 0:
			m.Replace(c.Attr, c.New)
		case len(c.Old) > 0:
			m.Delete(c.Attr, nil)
		}
	}
	return m
}

// String is the plan as dry-run prints it.
func (p *plan) String() string {
	var b strings.Builder
	if p.NewRDN != "" || p.NewSuperior != "" {
		fmt.Fprintf(&b, "modifyDN %s newrdn=%q newsuperior=%q; ", p.DN, p.NewRDN, p.NewSuperior)
	}
	if len(p.Changes) > 0 {
		fmt.Fprintf(&b, "modify %s:", p.DN)
		for _, c := range p.Changes {
			if len(c.New) == 0 {
				fmt.Fprintf(&b, " delete %s;", c.Attr)
			} else {
				fmt.Fprintf(&b, " replace %s=%q;", c.Attr, c.New)
			}
		}
	}
	return strings.TrimSpace(b.String())
}
