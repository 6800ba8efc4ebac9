package main

import (
	"strings"
	"testing"
)

// instance_id is checked with the rest of the file: a value a pod name or
// unit instance can have passes, anything else is named with what to use.
func TestConfigInstanceID(t *testing.T) {
	for id, ok := range map[string]bool{
		"": true, "mocdc-mirror-bi-7d9f-x2x4b": true, "mirror.0": true, "host_1": true,
		"two words": false, "a/b": false, "pod:1": false, strings.Repeat("x", 201): false,
	} {
		path := writeTemp(t, "store:\n  dsn: postgres://x@h/db\nkafka:\n  brokers: [k:9092]\ninstance_id: \""+id+"\"\n")
		_, err := LoadConfig(path) // it validates too
		bad := err != nil && strings.Contains(err.Error(), "instance_id")
		if bad == ok {
			t.Errorf("instance_id %q: LoadConfig: %v, want ok=%v", id, err, ok)
		}
	}
}
