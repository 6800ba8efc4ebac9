package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// registeredMetrics finds every metric name the module's code registers:
// the Name of each prometheus.*Opts literal outside tests.
func registeredMetrics(t *testing.T, root string) map[string]string {
	t.Helper()
	names := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == ".mocdc" || n == "testdata" || n == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "prometheus" {
				return true
			}
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Name" {
					continue
				}
				switch v := kv.Value.(type) {
				case *ast.BasicLit:
					if s, err := strconv.Unquote(v.Value); err == nil && v.Kind == token.STRING {
						names[s] = path
					}
				case *ast.BinaryExpr: // "mocdc_outbox_" + n: a family made by a helper
					if b, ok := v.X.(*ast.BasicLit); ok && v.Op == token.ADD && b.Kind == token.STRING {
						if s, err := strconv.Unquote(b.Value); err == nil {
							names[s+"*"] = path
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Every metric the binary can register is documented in docs/operations.md
// (as `name` in its metric tables), so an operator can look up any series
// /metrics shows.
func TestEveryMetricIsDocumented(t *testing.T) {
	names := registeredMetrics(t, "../..")
	if len(names) < 30 {
		t.Fatalf("found only %d metric names in the code: the scan is broken", len(names))
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for n, at := range names {
		if prefix, family := strings.CutSuffix(n, "*"); family {
			// The names are made at run time: some documented name must
			// carry the prefix.
			if !strings.Contains(string(doc), "`"+prefix) {
				missing = append(missing, n+" ("+at+")")
			}
			continue
		}
		if !strings.Contains(string(doc), "`"+n+"`") {
			missing = append(missing, n+" ("+at+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("metrics not documented in docs/operations.md (add a row to its metric tables):\n  %s", strings.Join(missing, "\n  "))
	}
}
