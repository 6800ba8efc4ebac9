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
		`line 10: unknown key "label" in mirrors[].scope: check its spelling against the documented keys`,
	})
}
