package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/jackc/pgx/v5"
)

// demoADEvery: the demo gives every demoADEvery-th person an AD account
// before the AD sink starts (found by CPR, renamed and filled in by the
// sink); the sink creates the others' accounts.
const demoADEvery = 4

// demoADAccounts makes the local demo's "existing" AD accounts, once: in
// the ad.create OU (else the first write OU), for every fourth person of
// the MO store, with the person's CPR in the CPR attribute, an old-style
// name and no other attributes. It does nothing when that OU already holds
// accounts.
func demoADAccounts(ctx context.Context, log *slog.Logger, cfg *Config) error {
	a := cfg.AD
	if a == nil {
		return nil
	}
	ou := a.WriteOUs[0]
	if a.Create != nil {
		ou = a.Create.OU
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: a.InsecureSkipVerify}
	if a.CAFile != "" {
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			return fmt.Errorf("demo: ad.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		tc.RootCAs.AppendCertsFromPEM(pem)
	}
	c, err := ldap.DialURL(a.URL, ldap.DialWithTLSConfig(tc))
	if err != nil {
		return fmt.Errorf("demo: connect to AD: %w", err)
	}
	defer c.Close()
	if err := c.Bind(a.BindDN, a.BindPassword); err != nil {
		return fmt.Errorf("demo: bind to AD: %w", err)
	}
	add := ldap.NewAddRequest(ou, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	if err := c.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		return fmt.Errorf("demo: create %s: %w", ou, err)
	}
	res, err := c.Search(ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=user)", []string{"dn"}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return fmt.Errorf("demo: search %s: %w", ou, err)
	}
	if res != nil && len(res.Entries) > 0 {
		return nil // made before
	}
	conn, err := pgx.Connect(ctx, cfg.Store.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `
		SELECT b.bruger_id::text, u.fornavn, u.efternavn, replace(r.rel_maal_urn, 'urn:dk:cpr:person:', '')
		FROM actual_state.bruger_registrering b
		JOIN actual_state.bruger_attr_udvidelser u ON u.bruger_registrering_id = b.id AND (u.virkning).timeperiod @> now()
		JOIN actual_state.bruger_relation r ON r.bruger_registrering_id = b.id AND r.rel_type = 'tilknyttedepersoner'
		     AND (r.virkning).timeperiod @> now()
		WHERE upper((b.registrering).timeperiod) = 'infinity' ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("demo: read persons: %w", err)
	}
	type p struct{ uuid, given, sur, cpr string }
	var ps []p
	for i := 0; rows.Next(); i++ {
		var x p
		if err := rows.Scan(&x.uuid, &x.given, &x.sur, &x.cpr); err != nil {
			rows.Close()
			return err
		}
		if i%demoADEvery == 0 && x.cpr != "" {
			ps = append(ps, x)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	made := 0
	for i, x := range ps {
		// "Surname, Given" and a made-up username: the sink renames the
		// account to the MO name and fills in the rest.
		cn := strings.TrimSpace(x.sur + ", " + x.given)
		req := ldap.NewAddRequest("CN="+ldap.EscapeDN(cn)+","+ou, nil)
		req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		req.Attribute("sAMAccountName", []string{fmt.Sprintf("demo%04d", i)})
		req.Attribute(a.CPRAttribute, []string{x.cpr})
		req.Attribute("userAccountControl", []string{"514"})
		if err := c.Add(req); err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
				continue
			}
			return fmt.Errorf("demo: add %s: %w", cn, err)
		}
		made++
	}
	log.Info("demo: AD accounts made for some persons (the AD sink finds them by CPR and creates the others')", slog.Int("accounts", made), slog.String("ou", ou))
	return nil
}
