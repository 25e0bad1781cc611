package api

import (
	"html/template"
	"net/http"

	"switchyard"
)

// Signed decision links (Teams cards): GET shows what the link will do and
// asks for a click, POST decides. A GET never decides, so link previews and
// scanners that fetch URLs cannot approve anything.

var linkPage = template.Must(template.New("link").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard approval</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
button{font-size:1rem;padding:.5rem 1.5rem}dt{font-weight:600}</style></head><body>
<h1>{{.Title}}</h1>
{{with .Info}}<dl>
<dt>Issue</dt><dd>{{.IssueKey}}: {{.Summary}}</dd>
<dt>Runbook</dt><dd>{{.Runbook}}</dd>
<dt>Target user</dt><dd>{{if .TargetUser}}{{.TargetUser}}{{else}}(none){{end}}</dd>
<dt>Deciding as</dt><dd>{{.Approver}}</dd>
<dt>Status</dt><dd>{{.Status}}</dd>
</dl>{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Form}}<form method="post"><input type="hidden" name="token" value="{{.Token}}">
<button type="submit" autofocus>{{.Button}}</button></form>{{end}}
</body></html>
`))

const linkCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type linkView struct {
	Title, Message, Token, Button string
	Info                          any
	Form                          bool
}

func (s *Server) renderLink(w http.ResponseWriter, status int, v linkView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds the token
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The page has no script at all; its one form posts back to itself.
	w.Header().Set("Content-Security-Policy", linkCSP)
	w.WriteHeader(status)
	_ = linkPage.Execute(w, v)
}

func (s *Server) linkError(w http.ResponseWriter, r *http.Request, err error) {
	status, _ := statusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.logger.Error("decision link failed", "request_id", requestID(r.Context()), "err", err)
		msg = "internal error; see the server log for request " + requestID(r.Context())
	}
	s.renderLink(w, status, linkView{Title: "This link cannot be used", Message: msg})
}

// handleLinkPage: GET /api/v1/approvals/{id}/link?token=… shows the decision
// and a button that confirms it.
func (s *Server) handleLinkPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.linkError(w, r, err)
		return
	}
	tok := r.URL.Query().Get("token")
	info, err := s.opts.Runbook.InspectLink(r.Context(), id, tok)
	if err != nil {
		s.linkError(w, r, err)
		return
	}
	v := linkView{Title: "Confirm: " + info.Decision + " " + info.IssueKey, Info: info, Token: tok, Form: info.Status == "pending"}
	if info.Decision == "approve" {
		v.Button = "Approve"
	} else {
		v.Button = "Deny"
	}
	if !v.Form {
		v.Message = "This request is already " + info.Status + "."
	}
	s.renderLink(w, http.StatusOK, v)
}

// handleLinkDecide: POST /api/v1/approvals/{id}/link (form field token)
// decides, once.
func (s *Server) handleLinkDecide(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.linkError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.linkError(w, r, switchyard.FieldErrorf(switchyard.ErrInvalid, "token", "unreadable form: %v", err))
		return
	}
	run, err := s.opts.Runbook.DecideByLink(r.Context(), id, r.PostForm.Get("token"), r.PostForm.Get("approver"))
	if err != nil {
		s.linkError(w, r, err)
		return
	}
	s.renderLink(w, http.StatusOK, linkView{Title: run.IssueKey + ": " + run.Approval.Status,
		Message: "Recorded: " + run.Approval.Status + " by " + run.Approval.DecidedBy + ". The outcome will be written back to " + run.IssueKey + "."})
}
