package mirror

import (
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// The inventory spares the initial load (and a rebuild) from looking up
// the previous state of objects that cannot have one: it remembers, per
// partition this instance applied from its very first record on, which
// objects that partition's records left in mocdc_objects. An object of
// such a partition that is not in its inventory does not exist in the
// mirror, so Apply does not ask the target.
//
// An inventory is only trusted while the offset the target stores for its
// partition is the one this instance committed last: any write by another
// instance (a rebalance, a zombie) moves the offset and the inventory is
// dropped for good — from then on the partition's objects are looked up
// as usual. It is never rebuilt from the target (that would need every
// object's partition), so after a restart all lookups go to the target.
//
// An object stays in one partition because capture keys records by its
// uuid and never changes a topic's partition count. Adding partitions by
// hand moves keys between partitions, which breaks per-object order for
// every consumer: rebuild the mirrors afterwards (docs/mirror.md).
type inventory struct {
	parts map[runner.TopicPartition]*partInventory
}

type partInventory struct {
	// next is the offset the target stores for the partition after this
	// instance's last commit; -1 when none is stored.
	next    int64
	present map[objKey]struct{}
}

func newInventory() *inventory {
	return &inventory{parts: map[runner.TopicPartition]*partInventory{}}
}

// absent returns the objects of changes that the inventory knows do not
// exist in the mirror, given the offsets the transaction locked. It
// starts an inventory for every partition no record was ever applied from
// and drops those whose stored offset another writer moved.
func (inv *inventory) absent(stored, end runner.Offsets, changes map[objKey]*change) map[objKey]bool {
	for _, tp := range end.Partitions() {
		n, ok := stored.Get(tp.Topic, tp.Partition)
		if !ok {
			n = -1
		}
		p := inv.parts[tp]
		switch {
		case p == nil && n == -1:
			inv.parts[tp] = &partInventory{next: -1, present: map[objKey]struct{}{}}
		case p != nil && p.next != n:
			delete(inv.parts, tp) // someone else wrote: unknown from now on
		}
	}
	out := map[objKey]bool{}
	for k, c := range changes {
		p := inv.parts[runner.TopicPartition{Topic: c.rec.Topic, Partition: c.rec.Partition}]
		if p == nil {
			continue
		}
		if _, ok := p.present[k]; !ok {
			out[k] = true
		}
	}
	return out
}

// committed records what a committed batch left: the new stored offsets
// and which of its objects exist.
func (inv *inventory) committed(stored, end runner.Offsets, changes map[objKey]*change) {
	for _, tp := range end.Partitions() {
		p := inv.parts[tp]
		if p == nil {
			continue
		}
		n, _ := end.Get(tp.Topic, tp.Partition)
		if s, ok := stored.Get(tp.Topic, tp.Partition); ok && s > n {
			n = s
		}
		p.next = n
	}
	for k, c := range changes {
		p := inv.parts[runner.TopicPartition{Topic: c.rec.Topic, Partition: c.rec.Partition}]
		if p == nil {
			continue
		}
		if c.obj == nil {
			delete(p.present, k)
		} else {
			p.present[k] = struct{}{}
		}
	}
}

// reset forgets everything (a rebuild dropped the tables, or a failed
// commit left it unknown what the target holds).
func (inv *inventory) reset() {
	clear(inv.parts)
}
