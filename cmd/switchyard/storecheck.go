package main

import (
	"context"
	"fmt"
	"strings"

	"switchyard/store"
)

// storeCheck is the result of PRAGMA quick_check over the store, as status
// shows it.
type storeCheck struct {
	Path       string   `json:"path"`
	QuickCheck string   `json:"quickCheck"` // ok | failed | error | skipped (PostgreSQL)
	Problems   []string `json:"problems,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// quickCheckStore runs PRAGMA quick_check over the whole SQLite file.
func quickCheckStore(ctx context.Context, db *store.DB) storeCheck {
	c := storeCheck{Path: db.Path(), QuickCheck: "ok"}
	if db.Driver() == store.DriverPostgres {
		// The server checks its own pages; there is no file to read here.
		c.QuickCheck = "skipped"
		return c
	}
	problems, err := db.QuickCheck(ctx)
	switch {
	case err != nil:
		c.QuickCheck, c.Error = "error", err.Error()
	case len(problems) > 0:
		c.QuickCheck, c.Problems = "failed", problems
	}
	return c
}

// err is the refusal of a process that would write into a damaged store:
// writing more can only spread the damage, and SQLite reports it only when a
// query happens to touch the bad page (often mid-sync).
func (c storeCheck) err() error {
	if c.QuickCheck == "ok" || c.QuickCheck == "skipped" {
		return nil
	}
	what := c.Error
	if what == "" {
		what = strings.Join(c.Problems, "; ")
	}
	return fmt.Errorf("store %s is damaged (PRAGMA quick_check: %s): refusing to write to it. "+
		"Restore it from a backup, or stop every switchyard process, move the file aside and run `switchyard sync --full` to copy Jira again "+
		"(API keys, approvals and the audit chain are kept in this file and would have to be recreated)", c.Path, what)
}
