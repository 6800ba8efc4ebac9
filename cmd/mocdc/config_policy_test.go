package main

import "testing"

// `mocdc config check` names every wrong value of the policy and of a
// mirror's scope, with what to write; an unknown key in either is named
// with its section.
func TestConfigCheckPolicyAndScope(t *testing.T) {
	got := configCheckOutput(t, `kafka:
  brokers: [127.0.0.1:9092]
policy:
  sensitive_job_functions: [fleksjob, ""]
  ad_title_field: extension_3
  export_title_field: extension_3
  ad_itsystems: [" "]
mirrors:
  - name: line
    dialect: postgres
    dsn: postgres://db/line
    scope:
      labels: [linjeorg, ""]
      roots: [x]
      exclude: [8d6d2b1e-0000-4000-8000-00000000000Z]
`)
	sameLines(t, "config check", got, []string{
		`policy.sensitive_job_functions[1] is empty: give a job_function class uuid or user_key`,
		`policy.ad_title_field and export_title_field are both "extension_3": the export title would overwrite the AD title`,
		`policy.ad_itsystems[0] is empty: give an IT system uuid or user_key`,
		`mirrors[0] (line): scope.labels[1] is empty: give an org_unit_hierarchy class user_key or uuid`,
		`mirrors[0] (line): scope.roots[0] "x" is not a unit uuid`,
		`mirrors[0] (line): scope.exclude[0] "8d6d2b1e-0000-4000-8000-00000000000Z" is not a unit uuid`,
	})
	got = configCheckOutput(t, `kafka:
  brokers: [127.0.0.1:9092]
policy:
  sensitive_jobfunctions: [fleksjob]
mirrors:
  - name: line
    dialect: postgres
    dsn: postgres://db/line
    scope:
      label: [linjeorg]
`)
	sameLines(t, "unknown keys", got, []string{
		`line 4: unknown key "sensitive_jobfunctions" in policy: check its spelling against the documented keys`,
		`line 10: unknown key "label" in a sink's scope (mirrors[].scope, ad.scope, fk.scope, notify.scope): check its spelling against the documented keys`,
	})
}

// Every sink's scope: is checked the same way, named by its section.
func TestConfigCheckSinkScopes(t *testing.T) {
	got := configCheckOutput(t, `kafka:
  brokers: [127.0.0.1:9092]
ad:
  url: ldaps://dc.kommune.dk:636
  bind_dn: CN=mocdc,DC=kommune,DC=dk
  bind_password: x
  base_dn: DC=kommune,DC=dk
  write_ous: [OU=Brugere,DC=kommune,DC=dk]
  scope:
    labels: [linjeorg]
    roots: [nope]
fk:
  os2sync: {url: "http://127.0.0.1:61380/api", cvr: "29189846"}
  top_unit: 3dd5111d-cc0e-5ff6-8066-a099d42da001
  hierarchy_labels: [Linjeorganisation]
  scope:
    labels: [linjeorg]
    exclude: [x]
notify:
  sender: os2mo@kommune.dk
  dry_run: true
  scope:
    labels: [""]
`)
	sameLines(t, "config check", got, []string{
		`fk.scope.exclude[0] "x" is not a unit uuid`,
		`fk.hierarchy_labels and scope.labels are the same filter: set one (scope.labels, as every sink; hierarchy_labels also takes class names)`,
		`ad.scope.roots[0] "nope" is not a unit uuid`,
		`notify.scope.labels[0] is empty: give an org_unit_hierarchy class user_key or uuid`,
	})
}
