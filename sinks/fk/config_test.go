package fk

import (
	"strings"
	"testing"
)

// TestConfigValidate: every wrong value is named with its key and what to
// write instead.
func TestConfigValidate(t *testing.T) {
	c := Config{OS2sync: ClientConfig{URL: "ftp://x", CVR: "1234", APIKey: "a", APIKeyFile: "b", TLS: TLSConfig{CertFile: "c"}},
		TopUnit: "top", ExcludedUnits: []string{"nope"}}
	c.Defaults("mo")
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`fk.os2sync.url "ftp://x" is not an http(s) URL`,
		`fk.os2sync.cvr "1234" must be the municipality's 8-digit CVR number`,
		"fk.os2sync: set api_key or api_key_file, not both",
		"fk.os2sync.tls: cert_file and key_file go together",
		`fk.top_unit "top" must be the uuid`,
		`fk.excluded_units[0] "nope" is not a unit uuid`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	ok := Config{OS2sync: ClientConfig{URL: "https://os2sync.kommune.dk/api", CVR: "29189846"}, TopUnit: unitTop}
	ok.Defaults("mo")
	if err := ok.Validate(); err != nil {
		t.Errorf("a good config: %v", err)
	}
	if ok.StateTopic != "mo._fk.state" || ok.TransactionalID != "mo.fk" || *ok.OS2sync.BypassCache != true || ok.OS2sync.Timeout.String() != "30s" {
		t.Errorf("defaults: %+v", ok)
	}
}
