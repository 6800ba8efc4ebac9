// Package policy decides, before anything leaves capture, what an event may
// say about a person: it is the policy step of the flow
//
//	source → assemble → decode → build → policy (this package) → publish
//
// Sensitive job titles (integrations.md §5, OS2mo's
// job-function-configurator): some job_function classes reveal private
// facts (a flex job, "Fleksjob"). MO keeps them; no event may carry them.
// For every engagement and association version whose job_function is one
// of the configured sensitive classes, Apply sets job_function to null,
// nulls every extension field that contains the class's name or user_key,
// and lists what it withheld in the version's "withheld" field. Every
// engagement version gets the export title OS2mo's configurator writes:
//
//   - the AD title (Config.ADTitleField, extension_2) when the engagement
//     is primary (its primary class has scope ≥ 3000, OS2mo's is_primary),
//     the person has an IT user in an AD IT system valid today, and the AD
//     title is not empty;
//   - otherwise " " (a single space, as OS2mo writes it) when the
//     job_function is sensitive;
//   - otherwise the job_function class's name.
//
// The title is written to "export_title" and to Config.ExportTitleField
// (extension_3), where OS2mo's exports read it; "export_title_source" says
// which of the three gave it (ad_title, blank, job_function). Associations get
// "export_title" too: " " when sensitive, else the class name (they have no
// AD title).
//
// The rule needs other objects: class names, user_keys and scopes, IT
// systems, and which persons have an AD IT user today. The Policy learns
// them from every object capture builds (Learn) after capture loaded them
// from the store at start. When a person's AD IT user comes or goes, Learn
// returns the person, so that capture republishes the person's engagements
// with their new export title.
//
// Scrub removes sensitive class uuids, names and user_keys from free text
// (dead-letter reasons and payloads, access-log arguments).
//
// A Policy is safe for concurrent use. It does no I/O.
package policy
