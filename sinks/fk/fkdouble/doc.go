// Package fkdouble is a contract double of OS2sync, the REST service in
// front of FK Organisation that the fk sink writes to. It sits at the end
// of the flow (capture → Kafka → sinks/fk → OS2sync → FK Organisation) in
// place of the real service, for tests and for `make run`
// (deploy/os2syncdouble serves it on a port).
//
// It implements what OS2sync's ServiceLayer and SchedulingLayer do
// (OS2sync/OS2sync, integrations.md §2) and keeps the resulting FK state,
// which tests assert on instead of counting calls:
//
//   - routes: POST /api/orgUnit[/], GET|DELETE /api/orgUnit/{uuid},
//     POST /api/orgUnit/passiver/{uuid}, GET /api/orgUnit/all, the same
//     for /api/user, GET /api/hierarchy and /api/hierarchy/{id} (404 until
//     the job is done); unknown routes and absent objects are 404;
//   - the apiKey header (401) and the CVR header (the configured default
//     wins; none at all is a 500, as the real server throws); state is kept
//     per CVR;
//   - the controllers' validation with their messages (400), e.g.
//     "Positions is null or empty"; unknown JSON fields are rejected (400)
//     although the real server ignores them (see decodeStrict);
//   - the write queue: a write is answered 200 when queued and applied
//     later (org units before users), and a write FK would refuse (a
//     malformed uuid or date, a delete of an unknown object) lands in a
//     failure table, not in the answer;
//   - the cache of the last success: an update identical to the object's
//     last applied one is not queued unless ?bypassCache=true.
//
// Its own routes under /_double/ (state after draining the queue, request
// counters, failures) are for assertions and are not OS2sync's.
package fkdouble
