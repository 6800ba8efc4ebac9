// Package build turns LoRa registrations into MO objects.
//
// It sits after capture/assemble and capture/decode in the flow: a committed
// transaction's rows are grouped by registration (Registrations), each new
// registration's complete state becomes one MO object (Object), and the
// object is compared with the previous version to list what changed. It does
// no I/O of its own; the previous version and the class catalog come from
// interfaces the caller supplies.
package build
