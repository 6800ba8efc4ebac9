package capture

// docPolicy is the section of docs/events.md on what the policy step
// (capture/policy) changes in events.
const docPolicy = "## Policy: sensitive job functions and export titles\n\n" +
	"With a `policy:` section in the configuration, capture redacts engagements and associations before anything is published " +
	"(OS2mo's job-function-configurator rule, integrations.md §5):\n\n" +
	"```yaml\npolicy:\n  sensitive_job_functions: [fleksjob, skaanejob, 2168ccc0-bd50-5341-bf71-abba6824c646]  # class user_keys or uuids\n" +
	"  ad_title_field: extension_2      # default: the AD title\n  export_title_field: extension_3  # default: where the export title is written\n" +
	"  ad_itsystems: [AD]               # IT systems (user_key or uuid) that count as AD; default [Active Directory]\n```\n\n" +
	"| field of a version | meaning |\n|---|---|\n" +
	"| `job_function` | `null` when the class is sensitive: its uuid, name and user_key never leave the MO store |\n" +
	"| `withheld` | the fields this version had that the policy set to `null`, sorted: `job_function`, and any `extension_N` that names a sensitive class (its name, user_key or uuid, in any case); absent when nothing was withheld |\n" +
	"| `export_title` | engagements: the AD title (`ad_title_field`) when the engagement is primary (its primary class's scope is at least 3000, OS2mo's `is_primary`), the person has an IT user of an `ad_itsystems` system valid today and the AD title is not empty; else `\" \"` (one space, as OS2mo writes it) when the job function is sensitive; else the job function's name. Associations: `\" \"` when sensitive, else the name. `null` without a job function |\n" +
	"| `export_title_source` | which rule gave the export title: `ad_title`, `blank` or `job_function` (a sink that shows class names live, like the mirror, shows the class's current name for `job_function`) |\n" +
	"| `extension_3` (`export_title_field`) | engagements: the same export title (whatever the store holds there is replaced) |\n\n" +
	"Adjacent periods that the redaction made equal are merged (a change from one sensitive class to another shows nowhere). " +
	"`changed` lists field names only (`job_function` may be listed, never a value). Registration notes, dead-letter reasons and payloads, and the `arguments` of read events " +
	"have every sensitive class's uuid, name and user_key replaced by `[withheld]`; the ledger records field names only.\n\n" +
	"When a person's AD IT user comes or goes (created, deleted, moved to another person, or its validity starts or ends at midnight), " +
	"capture publishes a `tick` event (id `policy/<cause event id>/<engagement uuid>`, `changed`: `export_title`, `extension_3`) for each of the person's " +
	"engagements whose export title depends on it, from the engagement's last published registration. " +
	"Renaming a job-function class does not republish engagements (as in OS2mo, whose configurator reacts to engagement events only): their next event carries the new name in `export_title`; `export_title_source: job_function` tells a sink to read the class's name itself.\n\n" +
	"**Changing the list.** A class added to `sensitive_job_functions` is withheld from every event published after capture restarts with the new configuration " +
	"(and the mirrors show it withheld from the next change of each engagement on); what was published before stays on the compacted topics. To purge it:\n\n" +
	"1. stop capture and every sink;\n" +
	"2. delete the object topics (`mo.person` … `mo.organisation`, one per MO type), `mo.deadletter` and `mo._capture.checkpoint`; keep `mo.ledger`, `mo.access` and `mo.actor`;\n" +
	"3. drop the replication slot in the MO store: `SELECT pg_drop_replication_slot('mocdc')` (`capture.slot`);\n" +
	"4. start capture: with no slot and no checkpoint it creates both and publishes a new initial snapshot under the new policy;\n" +
	"5. start every mirror once with `--rebuild`, and delete the ledger builder's consumer group (`<prefix>.ledger-builder`, `ledger.group_id`) before starting it: " +
	"snapshot events make no ledger entries, and the ledger itself holds field names, never values, so it is kept as it is.\n\n"
