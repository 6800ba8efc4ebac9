package decode

import (
	"testing"
)

// corpusMessages returns the v1 corpus's R, Y, I and U messages in stream
// order, and how many of them are rows.
func corpusMessages(b *testing.B) ([][]byte, int) {
	var msgs [][]byte
	rows := 0
	for _, m := range readCorpus(b, "pgoutput-v1.jsonl") {
		switch m.Data[0] {
		case 'I', 'U', 'D':
			rows++
			fallthrough
		case 'R', 'Y':
			msgs = append(msgs, m.Data)
		}
	}
	return msgs, rows
}

// BenchmarkDecodeV1 decodes the v1 corpus: "scan" indexes each row and reads
// nothing (what an UPDATE the builder skips costs), "values" reads every
// value with its typed getter (a row the builder keeps).
func BenchmarkDecodeV1(b *testing.B) {
	msgs, rows := corpusMessages(b)
	var bytes int64
	for _, m := range msgs {
		bytes += int64(len(m))
	}
	for _, mode := range []string{"scan", "values"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				d := New()
				for _, m := range msgs {
					row, err := d.Decode(m, false)
					if err != nil {
						b.Fatal(err)
					}
					if row != nil && mode == "values" {
						if err := readAll(row); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// readAll reads every column with the getter its type calls for.
func readAll(row *Row) error {
	for _, c := range row.Relation().Columns {
		var err error
		switch c.kind {
		case kindUUID:
			_, _, err = row.UUID(c.Name)
		case kindInt2, kindInt4, kindInt8:
			_, _, err = row.Int(c.Name)
		case kindBool:
			_, _, err = row.Bool(c.Name)
		case kindTstzmultirange:
			_, _, err = row.Periods(c.Name)
		case kindRegistrering:
			_, _, err = row.Registrering(c.Name)
		case kindVirkning:
			_, _, err = row.Virkning(c.Name)
		case kindTextArray:
			_, _, err = row.TextArray(c.Name)
		default:
			_, _, err = row.Text(c.Name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
