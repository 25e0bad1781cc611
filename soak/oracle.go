package soak

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"switchyard/connector/jirasim"
)

// visibility tracks, per (account, issue, comment), whether the simulator's
// oracle ever allowed it during the soak. Visibility only shrinks through
// mutations the soak makes itself, so before each such mutation the pairs it
// could take away are recorded (remember*); a search hit is a violation only
// when the oracle forbids it now and it was never recorded as allowed.
type visibility struct {
	w   *jirasim.World
	mu  sync.Mutex
	was map[string]bool
	bad []string

	start   time.Time
	history map[string][]string // issue id or account id → recent changes, for reports
}

func newVisibility(w *jirasim.World) *visibility {
	return &visibility{w: w, was: map[string]bool{}, start: time.Now(), history: map[string][]string{}}
}

func pairKey(account, issueID, commentID string) string {
	return account + "|" + issueID + "|" + commentID
}

// rememberIssue records who may see issueID (and each of its comments) now;
// call it before a mutation that may hide the issue or its comments.
func (v *visibility) rememberIssue(issueID string, accounts []string) {
	var keys []string
	v.w.RLock()
	if iss := v.w.IssueByIDOrKey(issueID); iss != nil {
		for _, a := range accounts {
			if v.w.CanSeeLocked(a, iss, nil) {
				keys = append(keys, pairKey(a, iss.ID, ""))
				for _, c := range iss.Comments {
					if v.w.CanSeeLocked(a, iss, c) {
						keys = append(keys, pairKey(a, iss.ID, c.ID))
					}
				}
			}
		}
	}
	v.w.RUnlock()
	v.add(keys)
}

// rememberAccount records everything account may see now; call it before a
// mutation that may take visibility away from that account.
func (v *visibility) rememberAccount(account string) {
	var keys []string
	v.w.RLock()
	for _, iss := range v.w.Issues {
		if v.w.CanSeeLocked(account, iss, nil) {
			keys = append(keys, pairKey(account, iss.ID, ""))
			for _, c := range iss.Comments {
				if v.w.CanSeeLocked(account, iss, c) {
					keys = append(keys, pairKey(account, iss.ID, c.ID))
				}
			}
		}
	}
	v.w.RUnlock()
	v.add(keys)
}

func (v *visibility) add(keys []string) {
	v.mu.Lock()
	for _, k := range keys {
		v.was[k] = true
	}
	v.mu.Unlock()
}

// check judges one search hit of account. Attachments follow their issue.
func (v *visibility) check(account, issueID, commentID, key, typ string) {
	if v.w.CanSee(account, issueID, commentID) {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.was[pairKey(account, issueID, commentID)] {
		return
	}
	if len(v.bad) < 1000 {
		v.bad = append(v.bad, fmt.Sprintf("+%.1fs search as %s returned %s %s (issue %s, comment %q) that the oracle never allowed; now %s; issue history [%s]; account history [%s]",
			time.Since(v.start).Seconds(), account, typ, key, issueID, commentID, v.describe(account, issueID),
			strings.Join(v.history[issueID], "; "), strings.Join(v.history[account], "; ")))
	}
}

// note records a change to an issue or an account (kept short: the last 12).
func (v *visibility) note(id, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	h := append(v.history[id], fmt.Sprintf("+%.1fs ", time.Since(v.start).Seconds())+fmt.Sprintf(format, args...))
	if len(h) > 12 {
		h = h[len(h)-12:]
	}
	v.history[id] = h
}

// describe is the oracle's view of account and issue now, for a report.
func (v *visibility) describe(account, issueID string) string {
	v.w.RLock()
	defer v.w.RUnlock()
	var b strings.Builder
	if iss := v.w.IssueByIDOrKey(issueID); iss != nil {
		fmt.Fprintf(&b, "issue %s level %q reporter %q assignee %q", iss.Key, iss.SecurityLevelID, iss.Reporter, iss.Assignee)
	} else {
		b.WriteString("issue gone")
	}
	if u := v.w.UserByID(account); u != nil {
		fmt.Fprintf(&b, ", user active=%v type=%s groups", u.Active, u.AccountType)
		for _, g := range v.w.Groups {
			for _, m := range g.Members {
				if m == account {
					b.WriteString(" " + g.Name)
				}
			}
		}
	}
	return b.String()
}

func (v *visibility) violations() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.bad...)
}

// mismatch records a finding that is not a search hit (ingest, approvals).
func (v *visibility) mismatch(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.bad) < 1000 {
		v.bad = append(v.bad, msg)
	}
}

// checkAttachment judges an attachment hit beyond its issue: a file that came
// with a JSM internal note is never a customer's to find (the soak never makes
// notes public, so this holds at any time).
func (v *visibility) checkAttachment(account, issueID, attachmentID, key string) {
	v.w.RLock()
	var leak bool
	if u := v.w.UserByID(account); u != nil && u.AccountType == "customer" {
		if iss := v.w.IssueByIDOrKey(issueID); iss != nil {
			for _, a := range iss.Attachments {
				if a.ID == attachmentID && a.CommentID != "" {
					c := iss.CommentByID(a.CommentID)
					leak = c != nil && c.Internal()
				}
			}
		}
	}
	v.w.RUnlock()
	if !leak {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.bad) < 1000 {
		v.bad = append(v.bad, fmt.Sprintf("+%.1fs search as customer %s returned attachment %s of %s, a file of an internal note",
			time.Since(v.start).Seconds(), account, attachmentID, key))
	}
}
