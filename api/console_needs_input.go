package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"switchyard"
	"switchyard/runbook"
)

// The console's needs_input queue: runs whose intent is recognised but whose
// runbook lacks an input, each with a form where an agent supplies it and
// sends the run on to approval; and the newest runs that were not acted on,
// each with the reason and its explanation, so nothing vanishes silently.

const (
	consoleNeedsInputLimit = 100
	consoleNotActedLimit   = 20
)

// inputField is one missing input as the form asks for it.
type inputField struct {
	Name, Label, Type, Placeholder string
}

var inputFields = map[string]inputField{
	"target_user": {"target_user", "Target user (e-mail)", "email", "jane.doe@example.com"},
	"email":       {"email", "E-mail", "email", "new.hire@example.com"},
	"name":        {"name", "Full name", "text", "Jane Doe"},
	"group":       {"group", "Group", "text", "vpn-users"},
	"license_sku": {"license_sku", "Licence", "text", "Microsoft 365 E3"},
}

// needsInputRow is one waiting run.
type needsInputRow struct {
	Run      runbook.Run
	IssueURL string
	Fields   []inputField
}

func (s *Server) consoleNeedsInputRoutes() {
	s.mux.HandleFunc("POST /console/runs/{id}/inputs", s.console(s.consoleSupplyInputs))
}

// canSupply reports whether the session's key carries ticket:ingest, the
// scope that supplies inputs (see needs_input.go).
func (s *Server) canSupply(ctx context.Context, sess *session) (bool, error) {
	if sess.person != nil || sess.keyID == 0 {
		return false, nil // a person signed in with Atlassian holds no scopes
	}
	k, err := s.opts.Store.APIKey(ctx, sess.keyID)
	if err != nil {
		return false, err
	}
	return k.HasScope(ScopeTicketIngest), nil
}

// needsInputData fills the page's needs_input queue and not-acted-on list.
func (s *Server) needsInputData(ctx context.Context, sess *session, p *approvalsPage) error {
	if sess.person != nil {
		// People decide; agents (ingest keys) supply inputs. These lists show
		// tickets no one has approved for anybody's eyes: not to people.
		return nil
	}
	ok, err := s.canSupply(ctx, sess)
	if err != nil {
		return err
	}
	p.CanSupply = ok
	runs, err := s.opts.Runbook.NeedsInput(ctx, consoleNeedsInputLimit)
	if err != nil {
		return err
	}
	for _, r := range runs {
		row := needsInputRow{Run: r, IssueURL: s.issueURL(r)}
		for _, m := range r.Missing {
			f, ok := inputFields[m]
			if !ok {
				f = inputField{Name: m, Label: m, Type: "text"}
			}
			row.Fields = append(row.Fields, f)
		}
		p.NeedsInput = append(p.NeedsInput, row)
	}
	if rl, ok := s.opts.Store.(runLister); ok {
		trs, err := rl.TicketRuns(ctx, runbook.StateNoAction, consoleNotActedLimit)
		if err != nil {
			return err
		}
		for _, tr := range trs {
			r, err := s.opts.Runbook.Get(ctx, tr.ID)
			if err != nil {
				return err
			}
			p.NotActed = append(p.NotActed, approvalRow{Run: r, IssueURL: s.issueURL(r)})
		}
	}
	return nil
}

func (s *Server) consoleSupplyInputs(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.needRunbook(); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		status, _ := statusOf(err)
		if status == http.StatusInternalServerError {
			return err
		}
		what := fmt.Sprintf("run %d", id)
		if run, err := s.opts.Runbook.Get(r.Context(), id); err == nil {
			what = run.IssueKey
		}
		return s.renderApprovals(w, r, sess, status, "", fmt.Sprintf("Could not send %s on: %v", what, err), 0)
	}
	ok, err := s.canSupply(r.Context(), sess)
	if err != nil {
		return err
	}
	if !ok {
		return fail(switchyard.Errorf(switchyard.ErrForbidden, "the key %q lacks the ticket:ingest scope that supplies inputs; sign in with a key that has it", sess.keyName))
	}
	if err := r.ParseForm(); err != nil {
		return fail(switchyard.Errorf(switchyard.ErrInvalid, "read the form: %v", err))
	}
	inputs := map[string]string{}
	for k, vs := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "input."); ok && len(vs) > 0 {
			inputs[name] = vs[0]
		}
	}
	ctx := runbook.WithActor(r.Context(), "key:"+sess.keyName)
	if _, err := s.opts.Runbook.SupplyInputs(ctx, id, inputs); err != nil {
		return fail(err)
	}
	s.logger.Info("console supplied inputs", "run", id, "key_id", sess.keyID)
	http.Redirect(w, r, "/console/approvals?supplied="+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// suppliedFlash is the message after inputs were supplied, built from the
// stored run (not from the URL) so a crafted link cannot put words on it.
func (s *Server) suppliedFlash(ctx context.Context, sess *session, v string) (string, int64) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return "", 0
	}
	run, err := s.opts.Runbook.Get(ctx, id)
	if err != nil || run.Approval == nil || !s.sessionMaySee(ctx, sess, run) {
		return "", 0
	}
	return fmt.Sprintf("%s: sent for approval (%s on %s).", run.IssueKey, run.Runbook, run.TargetUser), run.Approval.ID
}
