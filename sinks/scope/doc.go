// Package scope is the organisation-label filter every sink shares
// (integrations.md §4: each unit's org_unit_hierarchy class — line
// organisation, self-owned, hidden, … — decides which downstream systems
// receive it and what hangs on it).
//
// Where it sits in the flow:
//
//	Kafka mo.<type> → sink (mirror via sinks/runner; AD, FK via sinks/view; notify)
//	                                   └─ scope.Rules.Passes(view, object) decides what the sink shows
//
// The rules are one pure function, Rules.Passes: given what the sink knows
// of MO (a View: the units' labels and parents, a person's engagements)
// it says whether one object version is in the sink's scope:
//
//   - a unit passes when its label is one of Config.Labels (by class uuid
//     or user_key; no labels: every unit, labelled or not), it is in a
//     subtree of Config.Roots (when any is given; the root itself counts)
//     and in no subtree of Config.Exclude;
//   - an engagement, association, manager, KLE, or an address or IT user
//     of a unit passes when its unit passes; a related_unit when all its
//     units pass; an object with a unit that the view does not know does
//     not pass;
//   - with Config.Persons, a person passes only while one of its
//     engagements valid at the time is in a unit that passes, and so do the
//     objects that hang on the person only (its addresses, IT users and
//     leaves); without it they all pass;
//   - classes, facets, IT systems and the rest always pass.
//
// A sink applies the rules when it renders an object, from its own state
// (the mirror: its state tables, sinks/mirror/scope.go; AD and FK:
// sinks/view; notify: its rule view). What a sink must do besides, so that
// "what falls outside is deleted downstream and what falls inside is
// created": when a unit's label or parent changes (Rules.Moves,
// MovesEvent), re-render the unit, every unit below it and every object
// tied to those units, and the persons engaged there; an object that no
// longer passes is deleted or disabled in the target, one that now passes
// is created. Rules.Widen does that widening over a sinks/view View
// (OfView answers the rules from one; PassesIn and PassesVersion judge one
// of its objects). docs/scope.md says what each sink does.
//
// The filter is not in sinks/runner's record loop on purpose: whether a
// record passes depends on state it does not carry (the ancestors'
// labels, a person's engagements), and a relabel acts on objects no
// record of the batch names.
//
// The API is small on purpose: Config (with Validate), New, Rules.Passes
// (and its forms UnitPasses, PassesObject, PassesIn, PassesVersion),
// Rules.Enabled, Rules.Moves, Rules.Widen, and the View interface a sink
// implements over its state (OfView implements it for sinks/view).
package scope
