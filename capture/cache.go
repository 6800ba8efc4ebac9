package capture

import (
	"container/list"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// versionKey names one registration: the object version built from it.
type versionKey struct {
	class string
	id    int64
}

// versions is a bounded LRU of recently built object versions by
// registration, so that listing changed fields rarely needs to read the
// previous registration from the store. Not safe for concurrent use.
type versions struct {
	max   int
	ll    *list.List
	items map[versionKey]*list.Element
}

type versionEntry struct {
	key versionKey
	obj *mo.Object
}

func newVersions(max int) *versions {
	return &versions{max: max, ll: list.New(), items: map[versionKey]*list.Element{}}
}

func (v *versions) get(k versionKey) (*mo.Object, bool) {
	e, ok := v.items[k]
	if !ok {
		return nil, false
	}
	v.ll.MoveToFront(e)
	return e.Value.(*versionEntry).obj, true
}

func (v *versions) put(k versionKey, o *mo.Object) {
	if e, ok := v.items[k]; ok {
		e.Value.(*versionEntry).obj = o
		v.ll.MoveToFront(e)
		return
	}
	v.items[k] = v.ll.PushFront(&versionEntry{key: k, obj: o})
	for v.ll.Len() > v.max {
		last := v.ll.Back()
		v.ll.Remove(last)
		delete(v.items, last.Value.(*versionEntry).key)
	}
}
