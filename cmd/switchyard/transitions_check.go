package main

import (
	"context"
	"fmt"
	"time"

	"switchyard/config"
	"switchyard/runbook"
	"switchyard/store"
)

// checkTransitions checks approvals.transitions against the workflow of
// every project each connection has synced, so a decision that would land
// on a missing transition fails at start-up, naming it, instead of at the
// first write-back. Projects not synced yet are checked at the next start.
func checkTransitions(cfg *config.Config, db *store.DB, jira map[string]runbook.Jira) error {
	if len(cfg.Approvals.Transitions) == 0 || cfg.Approvals.Sandbox {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, cc := range cfg.Connections {
		sl, ok := jira[cc.Name].(runbook.StatusLister)
		if !ok {
			continue
		}
		projects, err := db.Projects(ctx, cc.Name)
		if err != nil {
			return fmt.Errorf("connections[%s]: stored projects: %w", cc.Name, err)
		}
		if err := runbook.CheckTransitions(ctx, sl, projects, cfg.Approvals.Transitions); err != nil {
			return fmt.Errorf("connections[%s]: %w", cc.Name, err)
		}
	}
	return nil
}
