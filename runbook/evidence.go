package runbook

import "strings"

// The approval cards name the words of the ticket that decided its intent
// (the matched phrase first), so the approver sees why it was classified as
// it was. A small block of its own on each card.

func evidenceText(req ApprovalRequest) string {
	if len(req.Evidence) == 0 {
		return ""
	}
	return "Intent decided by the words: " + strings.Join(req.Evidence, ", ")
}

// slackEvidence is the Slack context block, or nil without evidence.
func slackEvidence(req ApprovalRequest) map[string]any {
	if len(req.Evidence) == 0 {
		return nil
	}
	quoted := make([]string, len(req.Evidence))
	for i, w := range req.Evidence {
		quoted[i] = "`" + strings.ReplaceAll(slackEscape(w), "`", "'") + "`"
	}
	return map[string]any{"type": "context", "block_id": "switchyard_evidence", "elements": []any{
		mrkdwn("Intent decided by the words: " + strings.Join(quoted, " ")),
	}}
}

// teamsEvidence is the Adaptive Card text block, or nil without evidence.
func teamsEvidence(req ApprovalRequest) map[string]any {
	if t := evidenceText(req); t != "" {
		return tb(t, map[string]any{"isSubtle": true, "id": "evidence"})
	}
	return nil
}
