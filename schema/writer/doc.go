// Package writer changes MO objects in an MO store the way OS2mo does:
// create, update (set fields from a date), terminate and delete, each as one
// new LoRa registration that holds the object's complete new state, written
// in one transaction by schema/store.
//
// It is used by the demo (seed and churn), the tests and the benchmarks; it
// is the stand-in for OS2mo, so its output must look to capture exactly like
// OS2mo's own. The translation between MO fields and LoRa rows comes from
// the mapping in schema/mo.
package writer
