package api_test

import (
	"context"
	"log/slog"
	"time"

	"switchyard/audit"
	"switchyard/classify"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
)

// Approvers of the env's runbook service; a ticket's reporter is refused.
const (
	rbApprover = "carol@example.com"
	rbReporter = "bob@example.com"
)

// runbook builds the runbook service and audit chain on the env's store, with
// the simulator as the connection's Jira (write-back lands there), and runs
// its background work until the returned stop is called.
func (e *env) runbook(logger *slog.Logger, policies []runbook.Policy) (*runbook.Service, *audit.Chain, func()) {
	e.t.Helper()
	jc, err := connector.New(connector.Options{Name: connName, BaseURL: e.simURL, MaxRetries: -1, RequestsPerSecond: 1000,
		Auth: connector.APITokenAuth(e.sim.AdminEmail(), jirasim.DefaultAdminToken)})
	if err != nil {
		e.t.Fatal(err)
	}
	cls, err := classify.New(classify.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	chain := audit.New(e.db)
	opts := runbook.Options{
		Store: e.db, Audit: chain, Classifier: cls, Jira: map[string]runbook.Jira{connName: jc},
		Approvers: []string{rbApprover, "dave@example.com", e.simApprover().Email}, Logger: logger, Policies: policies,
		PollInterval: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 20 * time.Millisecond },
	}
	if e.rbTune != nil {
		e.rbTune(e, &opts)
	}
	svc, err := runbook.New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	return svc, chain, func() { cancel(); <-done; svc.Close(); cls.Close() }
}

// simIssueKeys returns the keys of the first n simulator issues.
func (e *env) simIssueKeys(n int) []string {
	e.t.Helper()
	w := e.sim.World()
	w.RLock()
	defer w.RUnlock()
	var keys []string
	for _, iss := range w.Issues {
		if len(keys) == n {
			break
		}
		keys = append(keys, iss.Key)
	}
	if len(keys) < n {
		e.t.Fatalf("the simulator has %d issues, want %d", len(keys), n)
	}
	return keys
}

// simRunComments counts the write-back comments (those carrying the run
// property) on a simulator issue.
func simRunComments(e *env, key string) int { return runCommentCount(e.sim, key) }

// runCommentCount counts the comments carrying the run property on an issue
// of sim.
func runCommentCount(sim *jirasim.Server, key string) int {
	w := sim.World()
	w.RLock()
	defer w.RUnlock()
	n := 0
	for _, c := range w.IssueByKey(key).Comments {
		if _, ok := c.Properties[runbook.CommentProperty]; ok {
			n++
		}
	}
	return n
}

// simApprover is the simulator person listed in approvals.approvers (by
// e-mail): the first active person with a visible e-mail who is not the admin.
func (e *env) simApprover() *jirasim.SimUser { return e.simPeople()[0] }

// simOutsider is a simulator person who is no approver.
func (e *env) simOutsider() *jirasim.SimUser { return e.simPeople()[1] }

func (e *env) simPeople() []*jirasim.SimUser {
	e.t.Helper()
	w := e.sim.World()
	w.RLock()
	defer w.RUnlock()
	var out []*jirasim.SimUser
	for _, u := range w.Users {
		if u.Email != "" && u.Active && u.AccountType == "atlassian" && u.AccountID != w.AdminAccountID() && !e.isReporter(w, u.AccountID) {
			out = append(out, u)
		}
	}
	if len(out) < 2 {
		e.t.Fatal("the simulator has too few people with visible e-mails")
	}
	return out
}

// isReporter: a person who reports none of the first issues (tests use those).
func (e *env) isReporter(w *jirasim.World, account string) bool {
	for i, iss := range w.Issues {
		if i >= 10 {
			break
		}
		if iss.Reporter == account {
			return true
		}
	}
	return false
}
