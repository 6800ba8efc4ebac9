package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports a wrong key as "field x not found in type main.Config"
// and a wrong value as "cannot unmarshal !!str `six` into int32": true,
// but a user knows neither our Go types nor where the value sits. The
// functions here rewrite both into the key as written in the YAML, its
// line, and what to write instead.

// yamlSections names the Go types of the configuration as their place in
// the YAML, for yaml.v3's "field x not found in type T".
var yamlSections = map[string]string{
	"main.Config":         "the top level",
	"main.StoreConfig":    "store",
	"main.KafkaConfig":    "kafka",
	"main.TLSConfig":      "kafka.tls",
	"main.SASLConfig":     "kafka.sasl",
	"main.MetricsConfig":  "metrics",
	"main.DemoConfig":     "demo",
	"capture.Config":      "capture",
	"publish.TopicConfig": "capture.topics",
	"ledger.Config":       "ledger",
	"scope.Config":        "a sink's scope (mirrors[].scope, ad.scope, fk.scope, notify.scope)",
	"policy.Config":       "policy",
	"mirror.Config":       "a mirrors entry",
	"mirror.BatchConfig":  "mirrors[].batch",
	"runner.Backoff":      "mirrors[].retry",
}

var (
	unknownField = regexp.MustCompile(`field (\S+) not found in type (\S+)`)
	// yaml.v3's decoder: "line %d: cannot unmarshal %s%s into %s", the
	// value in backquotes for scalars only.
	cannotUnmarshal = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
)

// typeErrors rewrites every message of a yaml.v3 TypeError; src is the
// YAML it decoded, to find the key at each line.
func typeErrors(te *yaml.TypeError, src []byte) []error {
	var root yaml.Node
	_ = yaml.Unmarshal(src, &root) // it decoded once; a failure only loses key names
	keys := keysByLine(&root)
	out := make([]error, len(te.Errors))
	for i, e := range te.Errors {
		out[i] = errors.New(rewriteTypeError(e, keys))
	}
	return out
}

func rewriteTypeError(msg string, keys map[int][]keyAt) string {
	if sub := unknownField.FindStringSubmatch(msg); sub != nil {
		where, ok := yamlSections[sub[2]]
		if !ok {
			where = sub[2]
		}
		return unknownField.ReplaceAllLiteralString(msg, fmt.Sprintf("unknown key %q in %s: check its spelling against the documented keys", sub[1], where))
	}
	sub := cannotUnmarshal.FindStringSubmatch(msg)
	if sub == nil {
		return msg
	}
	line, _ := strconv.Atoi(sub[1])
	tag, value, goType := sub[2], sub[3], sub[4]
	key := "the value"
	if k := pickKey(keys[line], tag, value); k != "" {
		key = k
	}
	got := "a " + map[string]string{"map": "mapping (key: value lines)", "seq": "list"}[tag]
	if tag != "map" && tag != "seq" {
		got = strconv.Quote(value)
	}
	return fmt.Sprintf("line %d: %s: %s is not %s", line, key, got, expectedForm(goType))
}

// expectedForm says, for the Go type a value decodes into, what to write.
func expectedForm(goType string) string {
	t := strings.TrimPrefix(goType, "*")
	switch {
	case t == "time.Duration":
		return "a duration: a number with a unit, e.g. 500ms, 10s, 1m30s or 2h"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a single value: write it on the key's line (quote it if it contains : or #)"
	case strings.HasPrefix(t, "float"):
		return "a number, e.g. 20 or 0.5"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number, e.g. 6 (digits only, no unit)"
	case t == "[]string":
		return "a list: [a, b] or one `- item` per line"
	case strings.HasPrefix(t, "[]"):
		return "a list of entries, each starting with `- `"
	}
	if where, ok := yamlSections[t]; ok {
		return "a mapping of the keys of " + where + " (key: value, one per line, indented)"
	}
	return "a " + t
}

// keyAt is a value node of the YAML: where it is and what kind it is.
type keyAt struct {
	path  string
	kind  yaml.Kind
	value string
}

// keysByLine maps each line to the keys (as dotted paths:
// capture.topics.partitions, mirrors[1].batch.max_wait) whose value
// starts on it.
func keysByLine(root *yaml.Node) map[int][]keyAt {
	out := map[int][]keyAt{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
			return
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
		if path != "" {
			out[n.Line] = append(out[n.Line], keyAt{path, n.Kind, n.Value})
		}
	}
	walk(root, "")
	return out
}

// pickKey picks, among the values on one line, the one of the kind (and,
// for a scalar, the value) that failed to decode: `retry: {min: 1s, max:
// x}` names retry.max.
func pickKey(cands []keyAt, tag, value string) string {
	want := yaml.ScalarNode
	switch tag {
	case "map":
		want = yaml.MappingNode
	case "seq":
		want = yaml.SequenceNode
	}
	// keysByLine appends children before their parents: the first match is
	// the innermost.
	first := ""
	for _, k := range cands {
		if k.kind != want {
			continue
		}
		if want != yaml.ScalarNode || k.value == value {
			return k.path
		}
		if first == "" {
			first = k.path // yaml.v3 cuts long values short
		}
	}
	return first
}
