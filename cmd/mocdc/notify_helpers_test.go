package main

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/sinks/outbox"
)

// received is one mail found in the maildir.
type received struct {
	file, key, messageID, subject, to, date, body string
}

// maildir returns the local OpenSMTPD's maildir (deploy/local/services).
func maildir(t *testing.T) string {
	d := os.Getenv("MOCDC_TEST_MAILDIR")
	smtp := os.Getenv("MOCDC_TEST_SMTP")
	if d == "" || smtp == "" {
		t.Fatal("MOCDC_TEST_MAILDIR / MOCDC_TEST_SMTP are not set: start the local services with `deploy/local/services up` and `source .mocdc/env` (make test does both)")
	}
	return d
}

// readMails returns the mails in dir addressed to a receiver containing
// domain.
func readMails(t *testing.T, dir, domain string) []received {
	var out []received
	for _, sub := range []string{"new", "cur"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			path := filepath.Join(dir, sub, e.Name())
			f, err := os.Open(path)
			if err != nil {
				continue
			}
			m, err := mail.ReadMessage(f)
			if err != nil {
				f.Close()
				continue
			}
			if !strings.Contains(m.Header.Get("To"), domain) {
				f.Close()
				continue
			}
			body, _ := io.ReadAll(m.Body)
			f.Close()
			subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			out = append(out, received{file: path, key: m.Header.Get("X-Mocdc-Alert-Key"), messageID: m.Header.Get("Message-ID"),
				subject: subj, to: m.Header.Get("To"), date: m.Header.Get("Date"), body: decodeQP(string(body))})
		}
	}
	return out
}

// decodeQP undoes quoted-printable well enough to search the text.
func decodeQP(s string) string {
	r := strings.NewReplacer("=\r\n", "", "=\n", "")
	s = r.Replace(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			var v byte
			for _, c := range s[i+1 : i+3] {
				v = v<<4 | hexVal(byte(c))
			}
			b.WriteByte(v)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return strings.IndexByte("0123456789ABCDEFabcdef", c) >= 0 }
func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// smtpProxy forwards TCP connections to the real OpenSMTPD and can be
// switched off (connections refused) to make the server unreachable.
type smtpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
}

func newSMTPProxy(t *testing.T) *smtpProxy {
	p := &smtpProxy{target: os.Getenv("MOCDC_TEST_SMTP")}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *smtpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
				if err != nil {
					return
				}
				defer s.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(s, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, s); done <- struct{}{} }()
				<-done
			}()
		}
	}()
}

// down closes the listener: connecting is refused.
func (p *smtpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
}

// up listens again on the same address.
func (p *smtpProxy) up(t *testing.T) {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("proxy up: %v", err)
	}
	p.serve(ln)
}

// outboxEffects reads the latest record of every effect in a notify state
// topic.
func outboxEffects(t *testing.T, opts []kgo.Opt, topic string) map[string]outbox.Effect {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	starts, err := outbox.StartOffsets(ctx, adm, []string{topic})
	if err != nil {
		return nil
	}
	ranges := map[string]map[int32][2]int64{topic: {}}
	ends.Each(func(o kadm.ListedOffset) { ranges[topic][o.Partition] = [2]int64{starts[topic][o.Partition], o.Offset} })
	out := map[string]outbox.Effect{}
	err = outbox.Scan(ctx, opts, ranges, func(r *kgo.Record) error {
		if !strings.HasPrefix(string(r.Key), "e/") || r.Value == nil {
			return nil
		}
		var e outbox.Effect
		if err := json.Unmarshal(r.Value, &e); err != nil {
			return err
		}
		out[e.Key] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// notifyChurn is churn limited to what the notify rules hear of: managers
// vacated, filled, created and terminated (some future-dated), IT users
// created and terminated, role bindings.
func notifyChurn(seed int64, rate float64, d time.Duration, max int, today time.Time) demo.ChurnOptions {
	w := map[string]int{}
	for _, op := range demo.Ops {
		w[op.Name] = 0
	}
	for name, n := range map[string]int{"manager_vacant": 20, "manager_assign": 15, "manager_create": 6, "manager_terminate": 10,
		"ituser_create": 20, "ituser_terminate": 12, "rolebinding_create": 6, "hire": 4} {
		w[name] = n
	}
	return demo.ChurnOptions{Seed: seed, Rate: rate, Duration: d, MaxChanges: max, Weights: w, Today: today}
}
