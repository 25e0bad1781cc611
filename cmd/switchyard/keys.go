package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"switchyard/api"
	"switchyard/config"
	"switchyard/store"
)

func init() {
	register(command{
		name:    "keys",
		summary: "manage API keys: keys create|list|revoke",
		run:     runKeys,
	})
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage: switchyard keys create --config F --name NAME --scope SCOPE[,SCOPE…] [--expires 720h|2027-01-01] [--as ACCOUNT]")
		fmt.Fprintln(stderr, "       switchyard keys list   --config F [--json]")
		fmt.Fprintln(stderr, "       switchyard keys revoke --config F ID")
		fmt.Fprintf(stderr, "\nScopes: %s\n", strings.Join(api.AllScopes, ", "))
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "create":
		return runKeysCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return runKeysList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return runKeysRevoke(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown keys subcommand %q (want create, list or revoke)", args[0])
}

func openKeyStore(path string) (*store.DB, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return openSyncStore(cfg)
}

func runKeysCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys create", "--config F --name NAME --scope SCOPE[,SCOPE…] [--expires D] [--as ACCOUNT]", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	name := fs.String("name", "", "what the key is for, e.g. \"zapier ingest\" (required)")
	var scopes stringList
	fs.Var(&scopes, "scope", "scope to grant; repeat or comma-separate ("+strings.Join(api.AllScopes, ", ")+")")
	expires := fs.String("expires", "", "expiry: a duration from now (720h) or a date (2027-01-01); empty = never")
	as := fs.String("as", "", "bind the key to a synced Jira `ACCOUNT` (account id, or a visible e-mail): only a bound key decides approvals, and only as that person")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if strings.TrimSpace(*name) == "" {
		return fmt.Errorf("--name is required")
	}
	if err := api.ValidateScopes(scopes); err != nil {
		return fmt.Errorf("--scope: %w", err)
	}
	exp, err := parseExpiry(*expires, time.Now())
	if err != nil {
		return err
	}
	db, err := openKeyStore(*cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	var account, who string
	if strings.TrimSpace(*as) != "" {
		u, err := db.FindAccount(ctx, *as)
		if err != nil {
			return fmt.Errorf("--as: %w", err)
		}
		account, who = u.AccountID, fmt.Sprintf(", acting as Jira account %s (%s)", u.AccountID, u.DisplayName)
	}
	k, secret, err := db.CreateAPIKey(ctx, store.NewAPIKey{Name: *name, Scopes: scopes, Expires: exp, AccountID: account})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Created key %d %q with scopes %s%s. The key is shown once; store it now:\n", k.ID, k.Name, strings.Join(k.Scopes, ","), who)
	fmt.Fprintln(stdout, secret)
	return nil
}

func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--expires %q: must be in the future", s)
		}
		return now.Add(d).UTC(), nil
	}
	for _, layout := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			if !t.After(now) {
				return time.Time{}, fmt.Errorf("--expires %q: must be in the future", s)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("--expires %q: want a duration like 720h or a date like 2027-01-01", s)
}

func runKeysList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys list", "--config F [--json]", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := openKeyStore(*cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := db.APIKeys(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(keys)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tAS\tCREATED\tEXPIRES\tSTATE\tLAST USED")
	now := time.Now()
	for _, k := range keys {
		state := "active"
		switch {
		case !k.Revoked.IsZero():
			state = "revoked " + k.Revoked.Format("2006-01-02")
		case !k.Usable(now):
			state = "expired"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, strings.Join(k.Scopes, ","), orDash(k.AccountID),
			k.Created.Format("2006-01-02"), dateOr(k.Expires, "never"), state, dateOr(k.LastUsed, "-"))
	}
	return tw.Flush()
}

func dateOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func runKeysRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys revoke", "--config F ID", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("want exactly one key ID (see 'switchyard keys list')")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("key ID %q: must be a positive number (see 'switchyard keys list')", pos[0])
	}
	db, err := openKeyStore(*cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	k, err := db.RevokeAPIKey(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked key %d %q (%s…); it stops working immediately\n", k.ID, k.Name, k.Prefix)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
