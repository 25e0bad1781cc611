package api_test

import (
	"testing"

	"switchyard/connector/jirasim"
)

// setSimText gives the simulator's issue key this summary and description:
// ingest checks a caller's text against Jira's, so a test that ingests a
// ticket for a real issue first makes Jira hold that text.
func setSimText(t *testing.T, sim *jirasim.Server, key, summary, description string) {
	t.Helper()
	if _, err := sim.World().UpdateIssue("", key, jirasim.IssueUpdate{Summary: &summary, Description: &description}); err != nil {
		t.Fatalf("update %s in the simulator: %v", key, err)
	}
}
