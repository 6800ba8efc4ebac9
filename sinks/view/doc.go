// Package view is the sinks' shared view of MO: the current state of the MO
// objects that acting sinks (AD, FK Organisation, email) render from,
// materialised from the compacted object topics, with the lookups they
// need. DESIGN.md §6a.
//
// Where it sits in the flow:
//
//	capture → mo.<type> topics ─► Follower ─► View ◄─ lookups ─ sink (render, diff, write)
//	                                 └─ OnTouch(owners) ─► sink's work queue
//
// # State
//
// A View holds, per MO type, every object's latest registration: all its
// validity periods (Object.Versions) with the field values of each, so a
// sink can ask what holds today, what starts tomorrow, or when the last
// engagement ends. Values are compact: stored positionally in the order of
// the type's mo.Spec fields (no per-version map) and interned with the
// runtime's unique package, so the many engagements that name one unit,
// class or person share one copy of the uuid (see BenchmarkBuild for bytes
// per object). A delete event or a tombstone removes the object.
//
// Objects are immutable: Apply replaces an object wholesale, so a lookup's
// result stays consistent and may be read without locks. A View is safe for
// one writer and any number of readers.
//
// # Lookups
//
// Reference fields between MO objects are indexed backwards (refFields:
// person, org_unit, parent of a unit, an IT user's engagements, an
// address's engagement and ituser, ...), so these are lookups, not scans.
// Each takes the time t at which the relation must hold (the version valid
// at t):
//
//	PersonITUsers, PersonEngagements, PersonAddresses, PersonEngagementsEver
//	UnitManagers, UnitAddresses, UnitEngagements, UnitChildren
//	UnitPath (ancestors, root first), Subtree
//	ITUserEngagements, ITUserAddresses, EngagementAddresses, EngagementITUsers
//	Class, ClassName, ClassUserKey, ITSystemByUserKey, Get, All, Each, Len
//	Referrers (the general form of the reverse lookups)
//	PersonsInUnits (persons with an engagement in units, optionally subtrees)
//
// References to classes, facets and IT systems are not indexed (nearly
// every object has several; the index would double the memory); the rare
// classification change is fanned out by OwnersOfClass, a scan.
//
// # Fan-out
//
// Apply returns the Owners an event touches: the persons and units the
// object hangs on before and after the change (an engagement moved from
// unit A to B touches its person, A and B), one level through an address's
// or role binding's engagement or IT user, and for classification objects
// the object itself in Owners.Classes. A sink widens this as its mapping
// needs (the AD sink re-renders the persons of a renamed unit's subtree)
// and renders each owner's whole desired state (CONVENTIONS 18): the event
// only says which owners may have changed.
//
// # Follower and restart cost
//
// A Follower reads every partition of the followed object topics from the
// start (no consumer group: every sink instance needs the whole view, even
// when it acts only for some owners), with read_committed isolation. At
// start it lists the end offsets; Ready closes when they are read. Its
// OnTouch callback reports each applied event with its owners, flagged
// Replaying before Ready. Nothing is stored locally: the restart cost is
// one read of the compacted topics, logged ("view caught up") and exported
// as mocdc_view_catchup_seconds; mocdc_view_objects counts objects by type.
//
// Each object's Partition is the partition of its topic it was read from,
// so sinks can split owners between instances by partition (a consumer
// group over the person or unit topic assigns the partitions).
package view
