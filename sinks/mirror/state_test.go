package mirror

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// The stored state reads back as the object it was written from, with
// every kind of value a field holds and characters JSON must escape; unset
// fields are left out (they read back as absent, which the mirror treats
// as unset). A mirror written before the compact form stored whole events:
// those still read.
func TestStateRoundTrip(t *testing.T) {
	o := obj(mo.Engagement, id(50, 1),
		ver("", "2019-12-31", map[string]any{"user_key": `a "quoted" \\ name`, "fraction": int64(37), "extension_1": nil}),
		ver("2020-01-01", "", map[string]any{"user_key": "Ærø\tØst\n\x01", "primary": id(20, 1), "dynamic_classes": []string{id(20, 2), id(20, 3)},
			"published": true, "ratio": 0.25, "extension_1": nil}))
	raw, err := encodeState(o)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid([]byte(raw)) {
		t.Fatalf("not JSON: %s", raw)
	}
	got, err := decodeState(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := obj(o.Type, o.UUID, o.Validities...)
	for _, v := range want.Validities {
		delete(v.Fields, "extension_1")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n got %#v\nwant %#v\nfrom %s", got, want, raw)
	}

	old, err := decodeState(string(envelope(event.Update, o)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(old.Validities[1].Fields["dynamic_classes"], o.Validities[1].Fields["dynamic_classes"]) || old.UUID != o.UUID {
		t.Fatalf("a stored event reads as %#v", old)
	}
}
