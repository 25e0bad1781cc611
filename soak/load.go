package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
)

// api calls the daemon as the admin key, honouring its 429s (per-key rate
// limit) with their Retry-After a few times. errDown when the daemon is not
// running or refuses the connection (a restart).
func (s *Soak) api(ctx context.Context, method, path string, body, out any) (int, error) {
	for attempt := 0; ; attempt++ {
		code, retry, err := s.api1(ctx, method, path, body, out)
		if code != http.StatusTooManyRequests || attempt == 4 {
			return code, err
		}
		s.st.daemonLimited.Add(1)
		t := time.NewTimer(min(retry, 2*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return code, err
		case <-t.C:
		}
	}
}

func (s *Soak) api1(ctx context.Context, method, path string, body, out any) (int, time.Duration, error) {
	s.dmu.Lock()
	up := s.daemon != nil
	s.dmu.Unlock()
	if !up {
		s.st.unavailable.Add(1)
		return 0, 0, errDown
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.addr+path, rd)
	if err != nil {
		return 0, 0, err
	}
	key := s.key
	if k, ok := ctx.Value(asKey{}).(string); ok {
		key = k
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			s.st.unavailable.Add(1)
		}
		return 0, 0, errDown // refused or cut by a SIGKILL
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return res.StatusCode, 0, errDown
	}
	if res.StatusCode == http.StatusTooManyRequests {
		retry := 200 * time.Millisecond
		if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && n > 0 {
			retry = time.Duration(n) * time.Second
		}
		return res.StatusCode, retry, fmt.Errorf("%s %s: 429 %s", method, path, strings.TrimSpace(string(b)))
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, 0, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	if res.StatusCode >= 300 {
		return res.StatusCode, 0, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(b)))
	}
	return res.StatusCode, 0, nil
}

// pause sleeps between lo and hi, or until ctx ends (false).
func pause(ctx context.Context, r *rand.Rand, lo, hi time.Duration) bool {
	d := lo + time.Duration(r.Int64N(int64(hi-lo)+1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Summaries: some classify into runbooks, some do not.
var summaries = []string{
	"Password reset for my account please", "Need VPN access for the new contractor", "Laptop screen flickering",
	"Please unlock my account, locked out after failed logins", "Add me to the jira-software-users group",
	"Printer on floor 3 jammed again", "Request access to the finance shared drive", "Outlook keeps crashing on start",
	"MFA device lost, need a reset", "Coffee machine broken", "Provision a new laptop for onboarding",
	"Disk full on build agent", "Wifi in meeting room drops", "Install Docker Desktop license",
}

var queryWords = []string{"", "*", "password", "vpn", "access", "laptop", "account", "printer", "disk", "reset", "error", "request"}

type pick struct {
	id, key, project string
	levels           []string
	comments         []string
}

// randomIssue picks an issue of the world (nil when there is none).
func (s *Soak) randomIssue(r *rand.Rand) *pick {
	s.world.RLock()
	defer s.world.RUnlock()
	if len(s.world.Issues) == 0 {
		return nil
	}
	iss := s.world.Issues[r.IntN(len(s.world.Issues))]
	p := &pick{id: iss.ID, key: iss.Key}
	if pr := s.world.ProjectByID(iss.ProjectID); pr != nil {
		p.project = pr.Key
		for _, l := range pr.SecurityLevels {
			p.levels = append(p.levels, l.ID)
		}
	}
	for _, c := range iss.Comments {
		p.comments = append(p.comments, c.ID)
	}
	return p
}

type people struct {
	all, active []string // account ids (active excludes the admin)
	groups      []string // group ids
	projects    []string
}

func (s *Soak) people() people {
	st := s.world.State()
	var p people
	for _, u := range st.Users {
		p.all = append(p.all, u.AccountID)
		if u.Active && u.AccountID != st.AdminAccountID && u.AccountType == "atlassian" {
			p.active = append(p.active, u.AccountID)
		}
	}
	for _, g := range st.Groups {
		if g.Name != jirasim.GroupAdministrators {
			p.groups = append(p.groups, g.GroupID)
		}
	}
	for _, pr := range st.Projects {
		p.projects = append(p.projects, pr.Key)
	}
	return p
}

// mutator changes the world at a bounded rate, as random non-admin users
// (the daemon drops webhooks caused by its own account).
func (s *Soak) mutator(ctx context.Context, r *rand.Rand) {
	ppl := s.people()
	if len(ppl.active) == 0 {
		return
	}
	for pause(ctx, r, 250*time.Millisecond, 750*time.Millisecond) {
		actor := ppl.active[r.IntN(len(ppl.active))]
		kind, target, detail, err := s.mutate(r, ppl, actor)
		if kind == "" {
			continue
		}
		if err != nil {
			s.st.mutationErrs.Add(1)
			continue
		}
		s.st.mutation(kind)
		if target != "" {
			s.vis.note(target, "%s %s by %s", kind, detail, actor)
		}
	}
}

// mutate makes one random change; it returns its kind ("" for none), the
// issue or account it changed, and the error.
func (s *Soak) mutate(r *rand.Rand, ppl people, actor string) (kind, target, detail string, err error) {
	w := s.world
	switch n := r.IntN(100); {
	case n < 22:
		proj := "ITSM"
		if r.IntN(3) == 0 {
			proj = ppl.projects[r.IntN(len(ppl.projects))]
		}
		iss, err := w.CreateIssue(actor, jirasim.IssueCreate{ProjectKey: proj, Summary: summaries[r.IntN(len(summaries))],
			Description: "Raised during the soak run. " + summaries[r.IntN(len(summaries))]})
		if err != nil {
			return "create", "", "", err
		}
		return "create", iss.ID, iss.Key, nil
	case n < 42:
		p := s.randomIssue(r)
		if p == nil {
			return "", "", "", nil
		}
		var u jirasim.IssueUpdate
		switch r.IntN(5) {
		case 0:
			sm := summaries[r.IntN(len(summaries))] + " (updated)"
			u.Summary = &sm
		case 1:
			pr := jirasim.Priorities[r.IntN(len(jirasim.Priorities))]
			u.Priority = &pr
		case 2:
			a := ppl.active[r.IntN(len(ppl.active))]
			if r.IntN(3) == 0 {
				a = ""
			}
			u.Assignee = &a
		case 3:
			lvl := ""
			if len(p.levels) > 0 && r.IntN(2) == 0 {
				lvl = p.levels[r.IntN(len(p.levels))]
			}
			u.SecurityLevelID = &lvl
		default:
			l := []string{"soak", fmt.Sprintf("wave-%d", r.IntN(5))}
			u.Labels = &l
		}
		s.vis.rememberIssue(p.id, ppl.all)
		_, err := w.UpdateIssue(actor, p.id, u)
		b, _ := json.Marshal(u)
		return "update", p.id, string(b), err
	case n < 62:
		p := s.randomIssue(r)
		if p == nil {
			return "", "", "", nil
		}
		var vis *switchyard.Visibility
		if r.IntN(4) == 0 && len(ppl.groups) > 0 {
			vis = &switchyard.Visibility{Type: "group", Identifier: ppl.groups[r.IntN(len(ppl.groups))]}
		}
		c, err := w.AddComment(actor, p.id, jirasim.TextToADF("Soak comment: "+summaries[r.IntN(len(summaries))]), vis)
		if err != nil {
			return "comment", "", "", err
		}
		return "comment", p.id, fmt.Sprintf("%s visibility %v", c.ID, vis), nil
	case n < 67:
		p := s.randomIssue(r)
		if p == nil || len(p.comments) == 0 {
			return "", "", "", nil
		}
		var vis *switchyard.Visibility
		if r.IntN(2) == 0 && len(ppl.groups) > 0 {
			vis = &switchyard.Visibility{Type: "group", Identifier: ppl.groups[r.IntN(len(ppl.groups))]}
		}
		s.vis.rememberIssue(p.id, ppl.all)
		cid := p.comments[r.IntN(len(p.comments))]
		_, err := w.UpdateComment(actor, p.id, cid, nil, vis)
		return "comment_update", p.id, fmt.Sprintf("%s visibility %v", cid, vis), err
	case n < 72:
		p := s.randomIssue(r)
		if p == nil || len(p.comments) == 0 {
			return "", "", "", nil
		}
		s.vis.rememberIssue(p.id, ppl.all)
		cid := p.comments[r.IntN(len(p.comments))]
		return "comment_delete", p.id, cid, w.DeleteComment(actor, p.id, cid)
	case n < 78:
		p := s.randomIssue(r)
		if p == nil {
			return "", "", "", nil
		}
		_, err := w.AddAttachment(actor, p.id, fmt.Sprintf("soak-%d.txt", r.IntN(1000)), "",
			[]byte("soak attachment: "+summaries[r.IntN(len(summaries))]))
		return "attachment", p.id, "", err
	case n < 84:
		p := s.randomIssue(r)
		if p == nil || s.isIngested(p.key) {
			return "", "", "", nil
		}
		s.vis.rememberIssue(p.id, ppl.all)
		return "delete", p.id, p.key, w.DeleteIssue(actor, p.id)
	case n < 89:
		p := s.randomIssue(r)
		if p == nil || s.isIngested(p.key) {
			return "", "", "", nil
		}
		to := ppl.projects[r.IntN(len(ppl.projects))]
		if to == p.project {
			return "", "", "", nil
		}
		s.vis.rememberIssue(p.id, ppl.all)
		_, err := w.MoveIssue(actor, p.id, to)
		return "move", p.id, p.key + " to " + to, err
	case n < 95:
		if len(ppl.groups) == 0 {
			return "", "", "", nil
		}
		g, u := ppl.groups[r.IntN(len(ppl.groups))], ppl.active[r.IntN(len(ppl.active))]
		err := w.AddGroupMember(actor, g, u)
		if errors.Is(err, switchyard.ErrConflict) {
			return "", "", "", nil
		}
		return "member_add", u, "group " + g, err
	default:
		if len(ppl.groups) == 0 {
			return "", "", "", nil
		}
		g, u := ppl.groups[r.IntN(len(ppl.groups))], ppl.active[r.IntN(len(ppl.active))]
		s.vis.rememberAccount(u)
		err := w.RemoveGroupMember(actor, g, u)
		if errors.Is(err, switchyard.ErrNotFound) {
			return "", "", "", nil
		}
		return "member_remove", u, "group " + g, err
	}
}

func (s *Soak) isIngested(key string) bool {
	s.imu.Lock()
	defer s.imu.Unlock()
	_, ok := s.ingested[key]
	return ok
}

type searchHit struct {
	Type         string `json:"type"`
	Key          string `json:"key"`
	IssueID      string `json:"issueId"`
	CommentID    string `json:"commentId"`
	AttachmentID string `json:"attachmentId"`
}

// searcher searches as random users (inactive ones too) and checks every hit
// against the oracle.
func (s *Soak) searcher(ctx context.Context, r *rand.Rand) {
	ppl := s.people()
	for pause(ctx, r, 100*time.Millisecond, 300*time.Millisecond) {
		as := ppl.all[r.IntN(len(ppl.all))]
		q := url.Values{"as": {as}, "size": {"100"}, "connection": {conn}}
		if w := queryWords[r.IntN(len(queryWords))]; w != "" {
			q.Set("q", w)
		}
		var res struct {
			Hits []searchHit `json:"hits"`
		}
		_, err := s.api(ctx, "GET", "/api/v1/search?"+q.Encode(), nil, &res)
		if err != nil {
			if !errors.Is(err, errDown) && ctx.Err() == nil {
				s.st.searchErrs.Add(1)
			}
			continue
		}
		s.st.searches.Add(1)
		for _, h := range res.Hits {
			s.st.hits.Add(1)
			cid := ""
			if h.Type == "comment" {
				cid = h.CommentID
			}
			s.vis.check(as, h.IssueID, cid, h.Key, h.Type)
			if h.Type == "attachment" {
				s.vis.checkAttachment(as, h.IssueID, h.AttachmentID, h.Key)
			}
		}
	}
}

type ingestBody struct {
	Source string `json:"source"`
	Ticket struct {
		IssueKey      string `json:"issueKey"`
		Summary       string `json:"summary"`
		Description   string `json:"description"`
		ReporterEmail string `json:"reporterEmail"`
	} `json:"ticket"`
}

type ingestAnswer struct {
	RunID   int64 `json:"runId"`
	Created bool  `json:"created"`
}

// ingester creates an OPS issue (outside the trigger) and ingests it through
// the API, several times concurrently with the same body; a ticket the
// daemon did not take (down) is retried with the same body.
func (s *Soak) ingester(ctx context.Context, r *rand.Rand) {
	ppl := s.people()
	var pending []ingestBody
	for pause(ctx, r, 600*time.Millisecond, 1200*time.Millisecond) {
		if len(pending) == 0 || r.IntN(3) > 0 {
			iss, err := s.world.CreateIssue(ppl.active[r.IntN(len(ppl.active))], jirasim.IssueCreate{ProjectKey: "OPS",
				Summary: summaries[r.IntN(len(summaries))], Description: "Ingested by the soak run."})
			if err != nil {
				continue
			}
			s.st.mutation("create")
			var b ingestBody
			b.Source = "soak"
			b.Ticket.IssueKey, b.Ticket.Summary, b.Ticket.Description = iss.Key, iss.Summary, "Ingested by the soak run."
			b.Ticket.ReporterEmail = reporterEmail
			pending = append(pending, b)
		}
		b := pending[0]
		pending = pending[1:]
		if !s.ingest(ctx, r, b) && ctx.Err() == nil {
			pending = append(pending, b)
		}
	}
}

// ingest posts b 1–3 times at once; false when the daemon took none of them.
func (s *Soak) ingest(ctx context.Context, r *rand.Rand, b ingestBody) bool {
	n := 1 + r.IntN(3)
	var wg sync.WaitGroup
	ans := make([]ingestAnswer, n)
	errs := make([]error, n)
	codes := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], errs[i] = s.api(ctx, "POST", "/api/v1/tickets/ingest?connection="+conn, b, &ans[i])
		}()
	}
	wg.Wait()
	took := false
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			if codes[i] != 0 && codes[i] != http.StatusTooManyRequests && ctx.Err() == nil {
				s.vis.mismatch(fmt.Sprintf("ingest %s (same body) answered %v", b.Ticket.IssueKey, errs[i]))
			}
			continue
		}
		took = true
		s.imu.Lock()
		prev, seen := s.ingested[b.Ticket.IssueKey]
		if !seen {
			s.ingested[b.Ticket.IssueKey] = ans[i].RunID
			s.st.ingests.Add(1)
		} else {
			s.st.ingestRepeats.Add(1)
			if prev != ans[i].RunID {
				s.vis.mismatch(fmt.Sprintf("ingest %s returned run %d, earlier run %d", b.Ticket.IssueKey, ans[i].RunID, prev))
			}
		}
		s.imu.Unlock()
	}
	return took
}

type approvalItem struct {
	Approval struct {
		ID int64 `json:"id"`
	} `json:"approval"`
	Run struct {
		TargetUser string `json:"targetUser"`
		Ticket     struct {
			ReporterEmail string `json:"reporterEmail"`
		} `json:"ticket"`
	} `json:"run"`
}

// ownRequest reports whether the approver reported the run's issue or is
// the person it acts on: the soak's own mutations create issues as random
// users, the approver among them, and such a decision must be refused.
func (it approvalItem) ownRequest() bool {
	return strings.EqualFold(it.Run.Ticket.ReporterEmail, approverEmail) || strings.EqualFold(it.Run.TargetUser, approverEmail)
}

// approver decides pending approvals (approve or deny), sometimes twice: the
// second decision must be refused.
// asKey carries the API key a call uses instead of the admin key.
type asKey struct{}

// approverKey gets a key bound to the approver's Jira account (only such a
// key decides), once the identity sync has brought the account in.
func (s *Soak) approverKey(ctx context.Context) (string, bool) {
	var created struct {
		Secret string `json:"secret"`
	}
	body := map[string]any{"name": "soak approver", "scopes": []string{"approvals:decide"}, "as": approverEmail}
	if _, err := s.api(ctx, "POST", "/api/v1/keys", body, &created); err != nil || created.Secret == "" {
		return "", false
	}
	return created.Secret, true
}

func (s *Soak) approver(ctx context.Context, r *rand.Rand) {
	key := ""
	for pause(ctx, r, 800*time.Millisecond, 2*time.Second) {
		if key == "" {
			k, ok := s.approverKey(ctx)
			if !ok {
				continue
			}
			key = k
		}
		ctx := context.WithValue(ctx, asKey{}, key)
		var list struct {
			Approvals []json.RawMessage `json:"approvals"`
		}
		if _, err := s.api(ctx, "GET", "/api/v1/approvals?status=pending&limit=50", nil, &list); err != nil || len(list.Approvals) == 0 {
			continue
		}
		var it approvalItem
		if err := json.Unmarshal(list.Approvals[r.IntN(len(list.Approvals))], &it); err != nil || it.Approval.ID == 0 {
			s.vis.mismatch(fmt.Sprintf("approvals list: cannot read an approval id: %v", err))
			continue
		}
		d := map[string]string{"decision": "approve", "approver": approverEmail, "comment": "soak"}
		if r.IntN(3) == 0 {
			d["decision"] = "deny"
		}
		path := fmt.Sprintf("/api/v1/approvals/%d/decision", it.Approval.ID)
		code, err := s.api(ctx, "POST", path, d, nil)
		if it.ownRequest() {
			// Separation of duties: refused, and the approval stays pending.
			switch {
			case code == http.StatusForbidden:
				s.st.approvalsRefused.Add(1)
			case err == nil:
				s.vis.mismatch(fmt.Sprintf("approval %d: the approver decided on their own request", it.Approval.ID))
			}
			continue
		}
		switch {
		case err == nil:
			s.st.approvals.Add(1)
		case code == http.StatusConflict:
			s.st.approvalConflicts.Add(1)
		case code != 0 && code != http.StatusTooManyRequests && ctx.Err() == nil:
			s.vis.mismatch(fmt.Sprintf("decision on approval %d: %v", it.Approval.ID, err))
		}
		if err == nil && r.IntN(4) == 0 {
			if code, err := s.api(ctx, "POST", path, d, nil); err == nil {
				s.vis.mismatch(fmt.Sprintf("approval %d accepted a second decision", it.Approval.ID))
			} else if code == http.StatusConflict {
				s.st.approvalConflicts.Add(1)
			}
		}
	}
}

// syncer asks for incremental syncs now and then, on top of the schedule
// and the webhooks.
func (s *Soak) syncer(ctx context.Context, r *rand.Rand) {
	for pause(ctx, r, 4*time.Second, 8*time.Second) {
		if _, err := s.api(ctx, "POST", "/api/v1/sync", map[string]any{"connection": conn}, nil); err == nil {
			s.st.syncTriggers.Add(1)
		}
	}
}

// knobber switches the simulator between fault profiles: background faults
// and rate limiting, latency spikes, a tight rate limit, a quiet spell.
func (s *Soak) knobber(ctx context.Context, r *rand.Rand) {
	profiles := []jirasim.Knobs{
		{RateLimit: 60, FaultRate: 0.05},
		{Latency: 150 * time.Millisecond, RateLimit: 60, FaultRate: 0.05},
		{RateLimit: 12, FaultRate: 0.08},
		{RateLimit: 0, FaultRate: 0.02},
	}
	for pause(ctx, r, 3*time.Second, 6*time.Second) {
		if err := s.sim.SetKnobs(profiles[r.IntN(len(profiles))]); err == nil {
			s.st.knobChanges.Add(1)
		}
	}
}
