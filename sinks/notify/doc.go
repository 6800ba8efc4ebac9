// Package notify is the email notification sink (`mocdc sink notify`):
// OS2mo's SMTP agent (os2mo-smtp) rules, as data, with each alert mailed
// once. DESIGN.md §6a; docs/notify.md is the user's guide.
//
// Where it sits in the flow:
//
//	mo.manager, mo.ituser, mo.rolebinding, mo.org_unit, mo.related_unit,
//	mo.address, mo.person, mo.class, mo.itsystem
//	  └─► handler: view (view.go) → rules (rules.go, eval.go) → alert
//	        └─► outbox intent + "last/<rule>/<uuid>" state, with the offsets
//	              └─► sender (smtp.go): SMTP → done record
//
// The handler keeps a view of the MO objects the rules read, built from the
// same consumed events (and rebuilt up to the committed offsets at start,
// outbox.Warmer), so a decision depends only on the events before it. For
// each event it runs the rules triggered by its type: a rule names the
// objects to evaluate (target), the version (OS2mo's current-or-latest),
// the condition (when), what makes two alerts the same (key: OS2mo's
// uuid-based dedup content), the receivers and the templates. A new alert
// is rendered at once into a Mail (with a Message-ID derived from its key)
// and recorded as an outbox intent in the batch's Kafka transaction; the
// sender mails it after the commit and the outbox marks it done.
//
// Time: the rules judge dates by the sink's clock (Deps.Now). A manager
// post that becomes vacant tomorrow does not alert today; capture's tick
// event for that object on the day re-evaluates it and it alerts then.
//
// Once: see package outbox. A replay of the topics sends nothing (every
// alert key is known); a crash between the server's acceptance of a mail
// and its done record sends that one mail again, with the same Message-ID,
// counted as mocdc_notify_recovered_sent_total.
package notify
