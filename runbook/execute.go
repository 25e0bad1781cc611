package runbook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"switchyard"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/store"
)

// Executor kinds.
const (
	ExecSandbox = "sandbox"
	ExecWebhook = "webhook"
)

// ExecutorConfig configures one runbook's executor.
type ExecutorConfig struct {
	Kind    string        `json:"kind" yaml:"kind"`       // sandbox (default) | webhook
	URL     string        `json:"url" yaml:"url"`         // webhook: where to POST
	Secret  string        `json:"-" yaml:"secret"`        // webhook: HMAC-SHA256 key of X-Switchyard-Signature
	Timeout time.Duration `json:"timeout" yaml:"timeout"` // webhook: default 30s
}

// ExecRequest is what an executor is asked to run.
type ExecRequest struct {
	RunID      int64            `json:"runId"`
	Connection string           `json:"connection"`
	IssueKey   string           `json:"issueKey"`
	Intent     string           `json:"intent"`
	Runbook    string           `json:"runbook"`
	TargetUser string           `json:"targetUser,omitempty"`
	Inputs     []classify.Input `json:"inputs"`
	ApprovedBy string           `json:"approvedBy"`
	ApprovedAt time.Time        `json:"approvedAt"`
}

// Execution is an executor's outcome, recorded on the run.
type Execution struct {
	Executor   string    `json:"executor"` // sandbox | webhook
	Status     string    `json:"status"`   // succeeded | failed
	Summary    string    `json:"summary"`  // what was executed, for the comment
	URL        string    `json:"url,omitempty"`
	HTTPStatus int       `json:"httpStatus,omitempty"`
	Response   string    `json:"response,omitempty"` // first 4 KiB of the response body
	Error      string    `json:"error,omitempty"`
	Started    time.Time `json:"startedAt"`
	Finished   time.Time `json:"finishedAt"`
}

// Executor runs an approved runbook. It never returns an error: failures
// are an Execution with status failed and the reason.
type Executor interface {
	Execute(ctx context.Context, req ExecRequest) Execution
}

func newExecutor(name string, c ExecutorConfig, hc *http.Client) (Executor, error) {
	switch c.Kind {
	case "", ExecSandbox:
		return sandbox{}, nil
	case ExecWebhook:
		u, err := url.Parse(c.URL)
		if c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "executors."+name+".url", "must be an absolute http(s) URL, not %q", redactURL(c.URL))
		}
		if c.Secret == "" {
			return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "executors."+name+".secret", "a webhook executor needs a signing secret")
		}
		if c.Timeout <= 0 {
			c.Timeout = DefaultExecTimeout
		}
		return &webhookExec{url: c.URL, secret: []byte(c.Secret), timeout: c.Timeout, http: hc}, nil
	}
	return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "executors."+name+".kind", "must be sandbox or webhook, not %q", c.Kind)
}

// sandbox records what would run and changes nothing anywhere.
type sandbox struct{}

func (sandbox) Execute(ctx context.Context, req ExecRequest) Execution {
	now := time.Now().UTC()
	target := req.TargetUser
	if target == "" {
		target = "(no target user)"
	}
	return Execution{
		Executor: ExecSandbox, Status: StateSucceeded, Started: now, Finished: now,
		Summary: fmt.Sprintf("sandbox: %s (%s) for %s recorded only; no changes were made to any system", req.Runbook, req.Intent, target),
	}
}

// webhookExec POSTs the request as signed JSON (e.g. to an Okta Workflows
// API endpoint). A 2xx answer is success; anything else, a timeout or a
// network error fails the run with the reason.
type webhookExec struct {
	url     string
	secret  []byte
	timeout time.Duration
	http    *http.Client
}

// Sign returns the X-Switchyard-Signature value of body sent at ts:
// "sha256=" + hex(HMAC-SHA256(secret, ts + "." + body)). Receivers check it
// in constant time and reject stale timestamps.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a Sign signature in constant time, with a window
// for the timestamp (unix seconds).
func VerifySignature(secret []byte, ts, sig string, body []byte, now time.Time, window time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return switchyard.Errorf(switchyard.ErrUnauthorized, "bad signature timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > window || d < -window {
		return switchyard.Errorf(switchyard.ErrUnauthorized, "stale signature timestamp")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig)) {
		return switchyard.Errorf(switchyard.ErrUnauthorized, "signature does not verify")
	}
	return nil
}

// postSigned POSTs body as signed JSON and returns the status and the start
// of the response body. Its errors show the URL as shown, never as u.
func postSigned(ctx context.Context, hc *http.Client, u, shown string, secret []byte, body []byte, headers map[string]string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, "", redactErr(err, u, shown)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "switchyard")
	if len(secret) > 0 {
		req.Header.Set("X-Switchyard-Timestamp", ts)
		req.Header.Set("X-Switchyard-Signature", Sign(secret, ts, body))
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", redactErr(err, u, shown)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseRecord))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, scrub(string(b), u, shown), nil
}

func (w *webhookExec) Execute(ctx context.Context, req ExecRequest) Execution {
	e := Execution{Executor: ExecWebhook, URL: redactURL(w.url), Started: time.Now().UTC()}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	status, resp, err := postSigned(ctx, w.http, w.url, e.URL, w.secret, body, map[string]string{"Idempotency-Key": fmt.Sprintf("switchyard-run-%d", req.RunID)})
	e.Finished = time.Now().UTC()
	e.HTTPStatus, e.Response = status, resp
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		e.Status, e.Error = StateFailed, fmt.Sprintf("webhook timed out after %s", w.timeout)
	case err != nil:
		e.Status, e.Error = StateFailed, "webhook request failed: "+err.Error()
	case status < 200 || status > 299:
		e.Status, e.Error = StateFailed, fmt.Sprintf("webhook answered HTTP %d", status)
	default:
		e.Status = StateSucceeded
	}
	e.Summary = fmt.Sprintf("webhook: POST %s for %s (%s) → ", e.URL, req.Runbook, req.Intent)
	if e.Status == StateSucceeded {
		e.Summary += fmt.Sprintf("HTTP %d", status)
	} else {
		e.Summary += e.Error
	}
	return e
}

// executor picks a runbook's executor: sandbox mode forces the sandbox.
func (s *Service) executor(run Run) Executor {
	if s.opts.Sandbox {
		return sandbox{}
	}
	if e, ok := s.execs[run.Runbook]; ok {
		return e
	}
	if e, ok := s.execs[run.Intent]; ok {
		return e
	}
	return s.defExec
}

// execute runs an approved run's executor at most once: the run moves from
// approved to executing before the executor is called, so a run found in
// executing (a crash mid-execution) is failed as interrupted, never re-run.
func (s *Service) execute(ctx context.Context, runID int64) error {
	moved, err := s.db.TransitionTicketRun(ctx, runID, StateApproved, StateExecuting)
	if err != nil {
		return err
	}
	run, err := s.Get(ctx, runID)
	if err != nil {
		return err
	}
	var e Execution
	switch {
	case moved:
		a := run.Approval
		if a == nil || a.Status != "approved" {
			return permanent{fmt.Errorf("run %d has no approval; refusing to execute", runID)}
		}
		req := ExecRequest{RunID: run.ID, Connection: run.Connection, IssueKey: run.IssueKey, Intent: run.Intent,
			Runbook: run.Runbook, TargetUser: run.TargetUser, Inputs: run.Inputs, ApprovedBy: a.DecidedBy, ApprovedAt: a.DecidedAt}
		e = s.executor(run).Execute(context.WithoutCancel(ctx), req)
	case run.State == StateExecuting && run.Execution == nil:
		now := s.now().UTC()
		e = Execution{Executor: "unknown", Status: StateFailed, Started: now, Finished: now,
			Error:   "interrupted: Switchyard stopped while the runbook was executing; the outcome is unknown, check the target system",
			Summary: "execution was interrupted; the outcome is unknown"}
	case run.State == StateExecuting:
		// Recorded before a crash, not yet moved on: finish the bookkeeping.
		e = *run.Execution
	default:
		return nil // executed already
	}
	// The outcome, its audit record, the run's final state and the
	// write-back commit together.
	bctx := context.WithoutCancel(ctx)
	err = s.db.Tx(bctx, func(tx *store.Tx) error {
		if run.Execution == nil {
			if err := tx.SetRunNote(bctx, run.ID, "execution", mustJSON(e)); err != nil {
				return err
			}
			rec, err := s.auditTx(bctx, tx, audit.TypeExecute, "system", run.IssueKey, map[string]any{
				"run": run.ID, "executor": e.Executor, "status": e.Status, "summary": e.Summary,
				"httpStatus": e.HTTPStatus, "response": e.Response, "error": e.Error,
				"startedAt": e.Started.Format(timeFormat), "finishedAt": e.Finished.Format(timeFormat),
			})
			if err != nil {
				return err
			}
			if err := s.noteAudit(bctx, tx, run.ID, rec); err != nil {
				return err
			}
		}
		if _, err := tx.TransitionTicketRun(bctx, run.ID, StateExecuting, e.Status); err != nil {
			return err
		}
		for _, it := range s.writebackItem(run.ID) {
			if _, _, err := tx.Enqueue(bctx, it); err != nil {
				return err
			}
		}
		if s.opts.Sandbox {
			return s.skipWriteback(bctx, tx, run.ID, run.IssueKey)
		}
		return nil
	})
	s.wake()
	return err
}
