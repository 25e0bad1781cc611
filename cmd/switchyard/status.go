package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	syncer "switchyard/sync"
)

func init() {
	register(command{
		name:    "status",
		summary: "show each connection's stored counts, checkpoints, last sync runs and warnings",
		run:     runStatus,
	})
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", "--config FILE [--json] [--connection NAME]", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	only := fs.String("connection", "", "show only this connection")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	cfg, err := loadConfigNoArgs("status", pos, *cfgPath)
	if err != nil {
		return err
	}
	names, err := syncConnectionNames(cfg, *only)
	if err != nil {
		return err
	}
	db, err := openSyncStore(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	check := quickCheckStore(ctx, db)
	st := syncer.NewStore(db)
	var all []syncer.Status
	for _, name := range names {
		s, err := syncer.StoredStatus(ctx, st, name)
		if err != nil {
			if check.QuickCheck != "ok" {
				break // the damage is reported below; what could be read is shown
			}
			return fmt.Errorf("connection %s: %w", name, err)
		}
		all = append(all, s)
	}
	cl, err := storedCluster(ctx, cfg, db)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"store": check, "cluster": cl, "connections": all}); err != nil {
			return err
		}
	} else {
		printStoreCheck(stdout, check)
		printCluster(stdout, cl)
		for _, s := range all {
			fmt.Fprintln(stdout)
			printStatus(stdout, s)
		}
	}
	if check.QuickCheck != "ok" {
		return check.err()
	}
	return nil
}

func printStoreCheck(w io.Writer, c storeCheck) {
	switch c.QuickCheck {
	case "ok":
		fmt.Fprintf(w, "store %s: quick_check ok\n", c.Path)
	case "skipped":
		fmt.Fprintf(w, "store %s (PostgreSQL)\n", c.Path)
	case "failed":
		fmt.Fprintf(w, "store %s: quick_check FAILED (%d problem(s)):\n", c.Path, len(c.Problems))
		for _, p := range c.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	default:
		fmt.Fprintf(w, "store %s: quick_check could not run: %s\n", c.Path, c.Error)
	}
}

func printStatus(w io.Writer, s syncer.Status) {
	fmt.Fprintf(w, "%s: %s\n", s.Connection, s.State)
	c := s.Counts
	fmt.Fprintf(w, "  stored: users %d, groups %d, projects %d, issues %d, comments %d, attachments %d (pending %d, failed %d)\n",
		c["users"], c["groups"], c["projects"], c["issues"], c["comments"], c["attachments"], c["attachments_pending"], c["attachments_failed"])
	if n := c["request_types"]; n > 0 {
		fmt.Fprintf(w, "  service management: request types %d\n", n)
	}
	if len(s.Checkpoints) > 0 {
		fmt.Fprintln(w, "  checkpoints:")
		for _, cp := range s.Checkpoints {
			name := cp.Stage
			if cp.Scope != "" {
				name += " " + cp.Scope
			}
			val := cp.Cursor
			if cp.CursorMS != 0 {
				if val != "" {
					val += " "
				}
				val += fmt.Sprintf("%d (%s)", cp.CursorMS, time.UnixMilli(cp.CursorMS).UTC().Format(time.RFC3339))
			}
			if val == "" {
				val = "-"
			}
			fmt.Fprintf(w, "    %-24s %s\n", name, val)
		}
	}
	if len(s.LastRuns) == 0 {
		fmt.Fprintln(w, "  no sync has run yet")
	} else {
		fmt.Fprintln(w, "  last runs:")
	}
	for _, r := range s.LastRuns {
		kind := "incremental"
		if r.Full {
			kind = "full"
		}
		dur := "-"
		if !r.Finished.IsZero() {
			dur = r.Duration().Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, "    #%d %s %s %s %s: issues %d, comments %d, attachments %d, removed %d",
			r.ID, r.Started.UTC().Format(time.RFC3339), kind, r.State, dur, r.Issues, r.Comments, r.Attachments, r.Deleted)
		if r.Error != "" {
			fmt.Fprintf(w, ", error: %s", r.Error)
		}
		fmt.Fprintln(w)
	}
	if r := s.IndexReset; r != nil && r.RefilledBy != 0 {
		fmt.Fprintf(w, "  index: replaced at %s (%s); refilled by full sync #%d\n", r.At.Format(time.RFC3339), r.Reason, r.RefilledBy)
	}
	for _, warn := range s.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}
