package runbook_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/runbook"
)

// fakeSimilar is the search index as each account sees it: the same ranked
// list of similar tickets for any issue, per account.
type fakeSimilar struct {
	mu    sync.Mutex
	sees  map[string][]string // account → similar keys, most similar first
	fail  error
	calls map[string]int
	sizes []int
}

func (f *fakeSimilar) SimilarTickets(_ context.Context, conn, issueKey, account string, size int) ([]runbook.SimilarTicket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[issueKey+" as "+account]++
	f.sizes = append(f.sizes, size)
	if f.fail != nil {
		return nil, f.fail
	}
	keys, ok := f.sees[account]
	if !ok {
		return nil, switchyard.Errorf(switchyard.ErrNotFound, "issue %s not found", issueKey)
	}
	var out []runbook.SimilarTicket
	for _, k := range keys {
		if k != issueKey && len(out) < size {
			out = append(out, runbook.SimilarTicket{Key: k, Title: "about " + k, URL: "https://jira.test/browse/" + k, Status: "Done"})
		}
	}
	return out, nil
}

var slackPrecedentKey = regexp.MustCompile(`\|([A-Z][A-Z0-9]*-[0-9]+)>`)
var teamsPrecedentKey = regexp.MustCompile(`\[([A-Z][A-Z0-9]*-[0-9]+)\]`)

// cardPrecedent is the precedent text of the newest Slack and Teams cards
// ("" when a card has none).
func cardPrecedent(t *testing.T, h *harness) (slack, teams string) {
	t.Helper()
	cards := h.slack.cards()
	if len(cards) == 0 {
		t.Fatal("no Slack card was sent")
	}
	blocks, _ := cards[len(cards)-1].Body["blocks"].([]any)
	for _, b := range blocks {
		if m := b.(map[string]any); m["block_id"] == "switchyard_precedent" {
			slack = m["text"].(map[string]any)["text"].(string)
		}
	}
	posts := h.teams.requests("")
	if len(posts) == 0 {
		t.Fatal("no Teams card was sent")
	}
	card := posts[len(posts)-1].Body["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
	body := card["body"].([]any)
	for i, b := range body {
		if b.(map[string]any)["id"] == "precedent" && i+1 < len(body) {
			teams = body[i+1].(map[string]any)["text"].(string)
		}
	}
	return slack, teams
}

func keysIn(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestCardPrecedent: Slack and Teams cards list the similar past tickets
// every named approver may see, with their decisions; a ticket one
// approver cannot see is left out; and when an approver cannot be resolved
// or the search fails, the card goes out without precedent.
func TestCardPrecedent(t *testing.T) {
	const ann, ben = "acc-ann", "acc-ben"
	for _, tc := range []struct {
		name      string
		approvers []string
		fail      error
		want      []string // keys shown, by index into the issues
		calls     int      // searches made
		dels      []runbook.Delegation
		policy    bool // the approvers are a one-step policy's (delegation counts there)
	}{
		{"intersection", []string{"ann@example.com", "ben@example.com"}, nil, []string{"P1", "P2", "P3"}, 2, nil, false},
		{"slack user mapped to an approver", []string{"UBEN", "ann@example.com"}, nil, []string{"P1", "P2", "P3"}, 2, nil, false},
		{"unknown approver", []string{"ann@example.com", "ghost@example.com"}, nil, nil, 0, nil, false},
		{"index unavailable", []string{"ann@example.com", "ben@example.com"}, errors.New("index closed"), nil, 1, nil, false},
		// Ann alone is named, but Ben decides for her: he reads the card too.
		{"delegate reads the card", []string{"ann@example.com"}, nil, []string{"P1", "P2", "P3"}, 2,
			[]runbook.Delegation{{From: "ann@example.com", To: "ben@example.com", Until: time.Now().Add(24 * time.Hour)}}, true},
		{"ended delegation", []string{"ann@example.com"}, nil, []string{"P1", "SECRET", "P2"}, 1,
			[]runbook.Delegation{{From: "ann@example.com", To: "ben@example.com", Until: time.Now().Add(-time.Hour)}}, true},
		// Without a policy Decide ignores delegations, so the card's readers
		// are the named approvers alone.
		{"delegation outside a policy", []string{"ann@example.com"}, nil, []string{"P1", "SECRET", "P2"}, 1,
			[]runbook.Delegation{{From: "ann@example.com", To: "ben@example.com", Until: time.Now().Add(24 * time.Hour)}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeSimilar{fail: tc.fail}
			h := newHarness(t, "", func(o *runbook.Options) {
				o.Approvers = tc.approvers
				o.SlackUsers = map[string]string{"UBEN": "ben@example.com"}
				o.Similar = fake
				o.Delegations = tc.dels
				if tc.policy {
					o.Policies = []runbook.Policy{{Name: "named", Steps: []runbook.Step{{Name: "approve", Approvers: runbook.ApproverSet{Users: tc.approvers}, Required: 1}}}}
				}
			})
			ctx := context.Background()
			if err := h.db.ReplaceUsers(ctx, "sim", []switchyard.User{
				{AccountID: ann, Email: "ann@example.com", DisplayName: "Ann", Active: true},
				{AccountID: ben, Email: "ben@example.com", DisplayName: "Ben", Active: true},
			}); err != nil {
				t.Fatal(err)
			}
			keys := h.issueKeys()
			k, p1, secret, p2, p3, p4 := keys[0], keys[1], keys[2], keys[3], keys[4], keys[5]
			name := map[string]string{"P1": p1, "P2": p2, "P3": p3, "SECRET": secret}
			// Ann sees a ticket Ben may not; Ben's fourth is not Ann's.
			fake.sees = map[string][]string{ann: {p1, secret, p2, p3, p4}, ben: {p1, p2, p3}}

			// P1 was decided before: denied.
			past := h.ingest(h.ticket(p1, "Password reset needed", "Please reset the password for jane.doe@example.com.", "bob@example.com"))
			if past.Run.Approval == nil {
				t.Fatalf("ingest %s: %+v", p1, past.Run)
			}
			if _, err := h.svc.Decide(ctx, past.Run.Approval.ID, runbook.Decision{Decision: "deny", Approver: "ann@example.com", Comment: "not verified"}); err != nil {
				t.Fatal(err)
			}
			res := h.ingest(h.ticket(k, "Password reset needed", "Please reset the password for jane.doe@example.com.", "bob@example.com"))
			h.waitRun(res.Run.ID, "both cards delivered", notified(2))

			slack, teams := cardPrecedent(t, h)
			var want []string
			for _, w := range tc.want {
				want = append(want, name[w])
			}
			if got := keysIn(slackPrecedentKey, slack); !slices.Equal(got, want) {
				t.Errorf("Slack precedent %v, want %v:\n%s", got, want, slack)
			}
			if got := keysIn(teamsPrecedentKey, teams); !slices.Equal(got, want) {
				t.Errorf("Teams precedent %v, want %v:\n%s", got, want, teams)
			}
			if !slices.Contains(tc.want, "SECRET") && strings.Contains(slack+teams, secret) {
				t.Errorf("a ticket %s cannot see is on the card", ben)
			}
			if len(want) > 0 {
				if !strings.Contains(slack, "*denied* by") || !strings.Contains(teams, "**denied** by") {
					t.Errorf("the cards do not show %s's denial:\n%s\n%s", p1, slack, teams)
				}
			}
			fake.mu.Lock()
			calls := 0
			for who, n := range fake.calls {
				if strings.HasPrefix(who, k+" as ") {
					calls += n
				}
			}
			sizes := fake.sizes
			fake.mu.Unlock()
			// Both cards share one lookup: one search per approver.
			if calls != tc.calls {
				t.Errorf("%d searches for the run's cards, want %d (%v)", calls, tc.calls, fake.calls)
			}
			for _, s := range sizes {
				if s < 3 || s > 10 {
					t.Errorf("searched with size %d", s)
				}
			}
		})
	}
}
