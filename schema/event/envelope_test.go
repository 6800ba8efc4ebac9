package event

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// examples are the JSON events of docs/events.md: real capture output.
func examples(t testing.TB) []string {
	b, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)```json\n(.*?)\n```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	if len(out) < len(mo.Types) {
		t.Fatalf("docs/events.md has %d examples, want at least %d", len(out), len(mo.Types))
	}
	return out
}

// TestDecodeRoundTrip: every documented event decodes and encodes back to
// the same JSON.
func TestDecodeRoundTrip(t *testing.T) {
	for _, ex := range examples(t) {
		e, err := Decode([]byte(ex))
		if err != nil {
			t.Fatalf("%v\n%s", err, ex)
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		_ = json.Unmarshal([]byte(ex), &a)
		_ = json.Unmarshal(again, &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("round trip changed the event:\n%s\n%s", ja, jb)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, bad := range []string{
		`{}`, `not json`, `{"version":2,"id":"x","type":"person","uuid":"u"}`,
		`{"version":1,"id":"x","type":"spaceship","uuid":"u"}`, `{"version":1,"type":"person","uuid":"u"}`,
	} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s) accepted it", bad)
		}
	}
	_, err := Decode([]byte(`{"version":9,"id":"x","type":"person","uuid":"u"}`))
	if err == nil || !strings.Contains(err.Error(), "upgrade mocdc") {
		t.Errorf("a newer version must say to upgrade, got %v", err)
	}
}

// FuzzDecode: no input makes the envelope decoders panic.
func FuzzDecode(f *testing.F) {
	for _, ex := range examples(f) {
		f.Add([]byte(ex))
	}
	f.Add([]byte(`{"version":1,"id":"read/x","operation":"x","uuids":["a"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Decode (goccy/go-json) must agree with encoding/json wherever
		// encoding/json accepts the input.
		if want, err := decode(b, json.Unmarshal); err == nil {
			got, gerr := Decode(b)
			if gerr != nil {
				t.Fatalf("encoding/json decodes %q, Decode fails: %v", b, gerr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode differs from encoding/json on %q:\n got %#v\nwant %#v", b, got, want)
			}
		}
		if e, err := Decode(b); err == nil {
			if _, err := e.Marshal(); err != nil {
				t.Fatalf("decoded event does not encode: %v", err)
			}
		}
		_, _ = DecodeAccess(b)
	})
}
