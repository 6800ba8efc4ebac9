// Package snapshot reads MO object state straight from the MO store's LoRa
// tables with SQL: the initial snapshot of every object's current state
// (from the slot's exported snapshot, resumable), the previous registration
// of an object when capture needs it to list changed fields after a
// restart, and the current state of objects the validity clock ticks for.
//
// Registrations and their rows never change once committed, so reading a
// registration by id later yields exactly what its transaction wrote.
package snapshot
