package view

import (
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// today is the tests' "now": 2026-06-15 noon in Copenhagen.
var today = time.Date(2026, 6, 15, 12, 0, 0, 0, mo.Location)

func date(s string) *mo.Date {
	if s == "" {
		return nil
	}
	d := mo.Date(s)
	return &d
}

// ver is one validity period with fields.
func ver(from, to string, f map[string]any) mo.Version {
	v := mo.Validity{From: date(from), To: date(to)}
	return mo.Version{Validity: v, Period: v.Period(), Fields: f}
}

func obj(t mo.Type, uuid string, vs ...mo.Version) *event.Envelope {
	return &event.Envelope{Version: event.Version, ID: "test/" + uuid, Op: event.Update, Type: t, UUID: uuid,
		Object: &mo.Object{Type: t, UUID: uuid, Validities: vs}}
}

func always(t mo.Type, uuid string, f map[string]any) *event.Envelope {
	return obj(t, uuid, ver("2020-01-01", "", f))
}
