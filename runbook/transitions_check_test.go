package runbook_test

import (
	"context"
	"strings"
	"testing"

	"switchyard"
	"switchyard/connector"
	"switchyard/runbook"
)

// workflowJira answers the statuses and, unless denied, the transitions.
type workflowJira struct {
	statuses    []string
	transitions []connector.WorkflowTransition
	err         error // from WorkflowTransitions
}

func (j workflowJira) ProjectStatuses(context.Context, string) ([]string, error) {
	return j.statuses, nil
}

func (j workflowJira) WorkflowTransitions(context.Context, string, string) ([]connector.WorkflowTransition, error) {
	return j.transitions, j.err
}

// TestCheckTransitionsUnreadableWorkflows: an account that may not read the
// workflows (403) is checked against the statuses, saying so; another error
// fails the check naming the project.
func TestCheckTransitionsUnreadableWorkflows(t *testing.T) {
	forbidden := &switchyard.Error{Kind: switchyard.ErrForbidden, Message: "POST /rest/api/3/workflows: 403"}
	j := workflowJira{statuses: []string{"Open", "Resolved"}, transitions: []connector.WorkflowTransition{{Name: "Resolve this issue", To: "Resolved"}}}
	projects := []switchyard.Project{{ID: "10", Key: "ITSM"}}
	for _, tc := range []struct {
		name    string
		err     error
		to      string
		wantErr string // "" = accepted
	}{
		{"readable: transition name", nil, "Resolve this issue", ""},
		{"readable: target status", nil, "resolved", ""},
		{"readable: a status no transition leads to", nil, "Open", `has no transition to "Open"`},
		{"denied: a status", forbidden, "Resolved", ""},
		{"denied: a transition name", forbidden, "Resolve this issue", "transition names not readable"},
		{"other error", &switchyard.Error{Kind: switchyard.ErrRateLimited, Message: "429"}, "Resolved", "workflow of project ITSM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jj := j
			jj.err = tc.err
			err := runbook.CheckTransitions(context.Background(), jj, projects, map[string]string{runbook.LabelApproved: tc.to})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("%q: err = %v, want %q", tc.to, err, tc.wantErr)
			}
		})
	}
}
