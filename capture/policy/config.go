package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Config is the `policy:` section of the mocdc YAML. A nil *Config (no
// section) publishes events as the store has them.
type Config struct {
	// SensitiveJobFunctions lists the job_function classes that must never
	// leave the MO store, each by uuid or user_key.
	SensitiveJobFunctions []string `yaml:"sensitive_job_functions"`
	// ADTitleField is the engagement extension field that holds the AD
	// title. Default extension_2.
	ADTitleField string `yaml:"ad_title_field"`
	// ExportTitleField is the engagement extension field the export title
	// is written to. Default extension_3.
	ExportTitleField string `yaml:"export_title_field"`
	// ADITSystems are the IT systems whose IT users make a person "have an
	// AD IT user", each by uuid or user_key. Default ["Active Directory"].
	ADITSystems []string `yaml:"ad_itsystems"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.ADTitleField == "" {
		c.ADTitleField = "extension_2"
	}
	if c.ExportTitleField == "" {
		c.ExportTitleField = "extension_3"
	}
	if len(c.ADITSystems) == 0 {
		c.ADITSystems = []string{"Active Directory"}
	}
}

var extensionField = regexp.MustCompile(`^extension_([1-9]|10)$`)

// Validate names every wrong value.
func (c *Config) Validate() error {
	var errs []error
	for i, s := range c.SensitiveJobFunctions {
		if strings.TrimSpace(s) == "" {
			errs = append(errs, fmt.Errorf("policy.sensitive_job_functions[%d] is empty: give a job_function class uuid or user_key", i))
		}
	}
	for name, v := range map[string]string{"ad_title_field": c.ADTitleField, "export_title_field": c.ExportTitleField} {
		if !extensionField.MatchString(v) {
			errs = append(errs, fmt.Errorf("policy.%s %q: use an engagement extension field, extension_1 … extension_10", name, v))
		}
	}
	if c.ADTitleField == c.ExportTitleField && c.ADTitleField != "" {
		errs = append(errs, fmt.Errorf("policy.ad_title_field and export_title_field are both %q: the export title would overwrite the AD title", c.ADTitleField))
	}
	for i, s := range c.ADITSystems {
		if strings.TrimSpace(s) == "" {
			errs = append(errs, fmt.Errorf("policy.ad_itsystems[%d] is empty: give an IT system uuid or user_key", i))
		}
	}
	return errors.Join(errs...)
}
