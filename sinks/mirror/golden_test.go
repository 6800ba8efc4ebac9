package mirror

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// statementsOf renders every statement the mirror sends to a target of
// dialect d in mode, in the order a first start and a batch send them.
func statementsOf(d Dialect, mode Mode) string {
	sc := newSchema(mode)
	var sb strings.Builder
	add := func(title string, qs ...string) {
		sb.WriteString("-- " + title + "\n")
		for _, q := range qs {
			if q == "" {
				continue
			}
			sb.WriteString(q)
			if !strings.HasSuffix(q, ";") {
				sb.WriteString(";")
			}
			sb.WriteString("\n")
		}
		sb.WriteString("\n")
	}
	add("introspection (drift check)", d.Introspect())
	for _, t := range sc.tables {
		add("create "+t.Name, d.CreateTable(t)...)
	}
	add("rebuild drops (one per table)", d.DropTable(sc.table(tEnheder)))
	add("session setup", d.SessionSetup()...)
	add("session staging: owner keys", append(d.CreateStaging(keysTable), d.ClearStaging(keysTable)...)...)
	if my, ok := d.(*mysql); ok {
		add("mysql bulk load (staging)", my.loadSQL("mocdc_1", d.Staging(keysTable), keysTable))
	}
	if _, ok := d.(*mssql); ok {
		add("mssql staging without bulk copy (bulk_copy: false), 2 rows", sqlInsertRows(d, "#mocdc_stg_keys", keysTable.ColumnNames(), 2))
		bf := &mssql{babelfish: true}
		add("session setup on Babelfish", bf.SessionSetup()...)
		add("start checks: Babelfish or SQL Server, isolation level of a serializable transaction", sqlIsBabelfish, sqlIsolationLevel)
	}
	for _, t := range sc.tables {
		if t.Direct {
			continue
		}
		add("staging "+t.Name, append(d.CreateStaging(t), d.ClearStaging(t)...)...)
		add("delete vanished rows of "+t.Name, d.DeleteVanished(t))
		update, insert := d.Upsert(t)
		add("upsert "+t.Name, update, insert)
	}
	add("offsets: lock, read, store, insert (2 partitions)",
		sqlLockOffsets(d, 2), sqlReadOffsets(d, 2), sqlStoreOffset(d), sqlInsertRows(d, tOffsets, []string{"topic", "partition_no", "next_offset"}, 2))
	if pg, ok := d.(*postgres); ok {
		add("staging of a small batch emptied without TRUNCATE (keys)", pg.deleteStaging(keysTable))
	}
	if q := sqlLockReadOffsets(d, 2); q != "" { // SQL Server: the statements above
		add("offsets: lock and read in one, store in one (2 partitions)", q, sqlStoreOffsets(d, 2))
	}
	add("offsets at partition assignment", sqlReadOffsets(d, 0))
	add("state reads", sqlLoadObjects(d, 3), sqlReferrers(d, 3, false), sqlReferrers(d, 3, true))
	add("meta and day rollover", sqlReadMeta(d), sqlInsertMeta(d), sqlPutMeta(d), sqlMoveDay(d), sqlDue(d), sqlNewestKvittering(d), sqlPruneKvittering(d))
	add("mapping version changed: every object due", sqlAllDue(d))
	add("kvittering", sqlKvittering(d))
	var uses []string
	for _, u := range classUses {
		uses = append(uses, sqlClassUsers(d, u, 2))
	}
	add("rows that show a changed class (or facet)", uses...)
	return sb.String()
}

// The SQL each dialect generates is pinned in testdata/: reviewed once,
// any change shows up in a diff. For SQL Server, which cannot run here,
// this is the test of the T-SQL. Update with: go test ./sinks/mirror -run TestGoldenSQL -update
func TestGoldenSQL(t *testing.T) {
	for _, d := range []Dialect{&postgres{}, &mysql{}, &mssql{}} {
		for _, mode := range []Mode{Actual, Historic} {
			name := d.Name() + "_" + string(mode)
			t.Run(name, func(t *testing.T) {
				got := statementsOf(d, mode)
				path := filepath.Join("testdata", name+".sql")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (create it with -update)", err)
				}
				if got != string(want) {
					gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
					for i := 0; i < len(gl) && i < len(wl); i++ {
						if gl[i] != wl[i] {
							t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(if the change is intended, run with -update and review the diff)", path, i+1, gl[i], wl[i])
						}
					}
					t.Fatalf("%s differs in length: got %d lines, want %d (run with -update and review)", path, len(gl), len(wl))
				}
			})
		}
	}
}

// Column names with æ and ø reach every dialect intact and quoted, and the
// T-SQL uses Unicode (nvarchar) columns and N” literals for them.
func TestDanishIdentifiersAreQuotedInEveryDialect(t *testing.T) {
	for _, d := range []Dialect{&postgres{}, &mysql{}, &mssql{}} {
		sql := statementsOf(d, Actual)
		if !utf8.ValidString(sql) {
			t.Fatalf("%s: generated SQL is not valid UTF-8", d.Name())
		}
		for _, col := range []string{"forældreenhed_uuid", "opmærkning_titel", "primær_boolean", "primærtype_uuid", "værdi", "dør"} {
			if !strings.Contains(sql, d.Quote(col)) {
				t.Errorf("%s: %s is never quoted as %s", d.Name(), col, d.Quote(col))
			}
			for _, line := range strings.Split(sql, "\n") {
				if i := strings.Index(line, col); i >= 0 && !strings.Contains(line, d.Quote(col)) {
					t.Errorf("%s: unquoted %s in: %s", d.Name(), col, line)
				}
			}
		}
	}
	ms := statementsOf(&mssql{}, Actual)
	for _, want := range []string{"[forældreenhed_uuid] nvarchar(36)", "[opmærkning_titel] nvarchar(250)", "[primær_boolean] bit", "[værdi] nvarchar(250) COLLATE DATABASE_DEFAULT"} {
		if !strings.Contains(ms, want) {
			t.Errorf("T-SQL lacks %q", want)
		}
	}
	if strings.Contains(ms, " varchar(") {
		t.Error("T-SQL uses varchar: æ, ø and å need nvarchar")
	}
}
