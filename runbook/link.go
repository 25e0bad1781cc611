package runbook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"switchyard"
)

// Signed decision links (Teams cards, e-mail): the token names the approval,
// the decision and the approver, expires with the request, is signed with
// HMAC-SHA256 and is accepted once.

type linkClaims struct {
	Approval int64  `json:"a"`
	Decision string `json:"d"`
	Approver string `json:"u"`
	Nonce    string `json:"n"`
	Expires  int64  `json:"e"` // unix ms
}

func (s *Service) linkMAC(payload string) string {
	m := hmac.New(sha256.New, s.opts.LinkSecret)
	m.Write([]byte("switchyard-link-v1."))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// link returns the signed URL that decides approval id as approver.
func (s *Service) link(id int64, decision, approver string, expires time.Time) string {
	nonce := make([]byte, 12)
	rand.Read(nonce)
	c := linkClaims{Approval: id, Decision: decision, Approver: approver, Nonce: hex.EncodeToString(nonce), Expires: expires.UnixMilli()}
	payload := base64.RawURLEncoding.EncodeToString(mustJSON(c))
	tok := payload + "." + s.linkMAC(payload)
	return fmt.Sprintf("%s/api/v1/approvals/%d/link?token=%s", strings.TrimRight(s.opts.PublicURL, "/"), id, url.QueryEscape(tok))
}

// LinkInfo is what a signed link would do, for the confirmation page.
type LinkInfo struct {
	ApprovalID int64  `json:"approvalId"`
	Decision   string `json:"decision"`
	Approver   string `json:"approver"`
	IssueKey   string `json:"issueKey"`
	Summary    string `json:"summary"`
	Runbook    string `json:"runbook"`
	TargetUser string `json:"targetUser,omitempty"`
	Status     string `json:"status"`
}

func (s *Service) parseLink(id int64, token string) (linkClaims, error) {
	var c linkClaims
	bad := switchyard.Errorf(switchyard.ErrUnauthorized, "the decision link is invalid")
	if len(s.opts.LinkSecret) == 0 {
		return c, switchyard.Errorf(switchyard.ErrNotFound, "decision links are not enabled")
	}
	payload, mac, ok := strings.Cut(token, ".")
	if !ok || len(token) > 2048 {
		return c, bad
	}
	if !hmac.Equal([]byte(s.linkMAC(payload)), []byte(mac)) {
		return c, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Approval != id || (c.Decision != "approve" && c.Decision != "deny") {
		return c, bad
	}
	if s.now().UnixMilli() >= c.Expires {
		return c, switchyard.Errorf(switchyard.ErrConflict, "the decision link expired with its request at %s", time.UnixMilli(c.Expires).UTC().Format(timeFormat))
	}
	return c, nil
}

// InspectLink checks a signed link without using it.
func (s *Service) InspectLink(ctx context.Context, id int64, token string) (LinkInfo, error) {
	c, err := s.parseLink(id, token)
	if err != nil {
		return LinkInfo{}, err
	}
	a, err := s.db.Approval(ctx, id)
	if err != nil {
		return LinkInfo{}, err
	}
	run, err := s.Get(ctx, a.RunID)
	if err != nil {
		return LinkInfo{}, err
	}
	return LinkInfo{ApprovalID: id, Decision: c.Decision, Approver: c.Approver, IssueKey: run.IssueKey,
		Summary: run.Ticket.Summary, Runbook: run.Runbook, TargetUser: run.TargetUser, Status: a.Status}, nil
}

// DecideByLink uses a signed link: once, before it expires, deciding as the
// approver it names (the usual rules apply). claimed is an approver the
// submitted form names, if any: someone other than the link's approver is
// refused.
func (s *Service) DecideByLink(ctx context.Context, id int64, token, claimed string) (Run, error) {
	c, err := s.parseLink(id, token)
	if err != nil {
		return Run{}, err
	}
	if claimed != "" {
		// Checked before the link is used up: a refused attempt changes nothing.
		a, err := s.db.Approval(ctx, id)
		if err != nil {
			return Run{}, err
		}
		run, err := s.Get(ctx, a.RunID)
		if err != nil {
			return Run{}, err
		}
		if err := s.sameAsClaimed(ctx, run, Decision{Approver: c.Approver, Claimed: claimed}); err != nil {
			s.appendAudit(ctx, "decision.refused", c.Approver, run.IssueKey, map[string]any{
				"run": run.ID, "approval": id, "decision": c.Decision, "channel": "link", "reason": err.Error(),
			})
			return run, err
		}
	}
	ttl := time.Until(time.UnixMilli(c.Expires)) + time.Hour
	if ttl < time.Hour {
		ttl = time.Hour
	}
	first, err := s.db.FirstDelivery(ctx, "link:"+c.Nonce, ttl)
	if err != nil {
		return Run{}, err
	}
	if !first {
		return Run{}, switchyard.Errorf(switchyard.ErrConflict, "this decision link was already used")
	}
	return s.Decide(WithActor(ctx, c.Approver), id, Decision{Decision: c.Decision, Approver: c.Approver, Claimed: claimed, Channel: "link"})
}

// DecisionLinks returns fresh signed approve/deny links of a run's pending
// request (what a Teams card carries), one pair per approver.
func (s *Service) DecisionLinks(ctx context.Context, runID int64) ([]DecisionLinks, error) {
	run, err := s.Get(ctx, runID)
	if err != nil {
		return nil, err
	}
	req, err := s.request(ctx, run)
	if err != nil {
		return nil, switchyard.Errorf(switchyard.ErrNotFound, "run %d has no approval request", runID)
	}
	if len(req.Links) == 0 {
		return nil, switchyard.Errorf(switchyard.ErrNotFound, "decision links are not enabled (approvals.link_secret and server.public_url)")
	}
	return req.Links, nil
}
