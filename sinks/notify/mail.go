package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"time"
)

// Mail is an alert as the outbox keeps it (the effect's payload): rendered
// when the alert is decided, so a retry or a recovery after a crash sends
// the very same message.
type Mail struct {
	Key       string    `json:"key"`
	Rule      string    `json:"rule"`
	Object    string    `json:"object"`
	MessageID string    `json:"message_id"`
	From      string    `json:"from"`
	To        []string  `json:"to"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	HTML      string    `json:"html,omitempty"`
	Date      time.Time `json:"date"`
}

// MessageID derives the Message-ID from the alert key: a mail sent twice
// (the crash window) carries the same Message-ID both times.
func MessageID(key, sender string) string {
	h := sha256.Sum256([]byte(key))
	domain := "mocdc.invalid"
	if i := strings.LastIndexByte(sender, '@'); i >= 0 && i+1 < len(sender) {
		domain = strings.Trim(sender[i+1:], "<> ")
	}
	return "<" + hex.EncodeToString(h[:16]) + ".notify@" + domain + ">"
}

// headerAlertKey carries the alert key in every mail.
const headerAlertKey = "X-Mocdc-Alert-Key"

// Bytes is the RFC 5322 message addressed (To header) to to: text/plain,
// or multipart/alternative with text/html, UTF-8, quoted-printable. The
// bytes depend only on m and to (the MIME boundary is derived from the
// key).
func (m *Mail) Bytes(to []string) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", m.From)
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.Date.Format(time.RFC1123Z))
	h("Message-ID", m.MessageID)
	h(headerAlertKey, m.Key)
	h("Auto-Submitted", "auto-generated")
	h("MIME-Version", "1.0")
	qp := func(w *bytes.Buffer, s string) error {
		q := quotedprintable.NewWriter(w)
		if _, err := q.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
			return err
		}
		return q.Close()
	}
	if m.HTML == "" {
		h("Content-Type", `text/plain; charset="utf-8"`)
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := qp(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	sum := sha256.Sum256([]byte("boundary\x00" + m.Key))
	if err := mw.SetBoundary("mocdc-" + hex.EncodeToString(sum[:12])); err != nil {
		return nil, err
	}
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		var body bytes.Buffer
		if err := qp(&body, part.body); err != nil {
			return nil, err
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ct + `; charset="utf-8"`},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(body.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
