package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"switchyard/audit"
	"switchyard/config"
)

func init() {
	register(command{
		name:    "audit",
		summary: "check the tamper-evident audit chain: audit verify",
		run:     runAudit,
	})
}

// errChainBad is the exit status of a chain that does not verify; the
// details are already printed.
var errChainBad = errors.New("the audit chain does not verify")

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage: switchyard audit verify --config F [--json] [--checkpoint FILE --public-key KEY]")
		fmt.Fprintln(stderr, "\nChecks every record of the audit chain (sequence, payload hash, record hash, link to")
		fmt.Fprintln(stderr, "the previous record) and prints OK with the record count, or the first bad sequence")
		fmt.Fprintln(stderr, "number and why. Exits 1 when the chain does not verify.")
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if args[0] != "verify" {
		return fmt.Errorf("unknown audit subcommand %q (want verify)", args[0])
	}
	fs := newFlagSet("audit verify", "--config F [--json] [--checkpoint FILE --public-key KEY]", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpPath := fs.String("checkpoint", "", "a signed checkpoint file: also check the chain still holds its head (catches truncation)")
	pubKey := fs.String("public-key", "", "Ed25519 public key (base64 or hex) that signed --checkpoint")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if (*cpPath == "") != (*pubKey == "") {
		return fmt.Errorf("--checkpoint and --public-key go together")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	db, err := openSyncStore(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	chain := audit.New(db)
	var res audit.VerifyResult
	if *cpPath != "" {
		pub, err := audit.ParsePublicKey(*pubKey)
		if err != nil {
			return err
		}
		cp, err := audit.ReadCheckpointFile(*cpPath)
		if err != nil {
			return err
		}
		if err := audit.VerifyCheckpoint(pub, cp); err != nil {
			return fmt.Errorf("checkpoint %s: %w", *cpPath, err)
		}
		res, err = chain.VerifyAgainst(ctx, cp)
		if err != nil {
			return err
		}
	} else if res, err = chain.Verify(ctx); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else if res.OK {
		fmt.Fprintf(stdout, "OK: %d records verified", res.Records)
		if res.HeadHash != "" {
			fmt.Fprintf(stdout, ", head %s", res.HeadHash)
		}
		fmt.Fprintln(stdout)
	} else {
		fmt.Fprintf(stdout, "BAD: first bad record is sequence %d: %s (%d records before it verified)\n", res.FirstBad, res.Reason, res.Records)
	}
	if !res.OK {
		return fmt.Errorf("%w at sequence %d", errChainBad, res.FirstBad)
	}
	return nil
}
