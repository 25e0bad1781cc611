package jirasim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// TestConformance calls every Cloud endpoint the connector uses on a generated
// world over real HTTP and validates each response against the official Jira
// Cloud OpenAPI document (shared/jira/jira-cloud-platform.v3.openapi.json).
//
// Narrow, documented exclusions where the document disagrees with Jira itself:
//   - Examples are not validated: the document's examples have known defects
//     (shared/jira/README.md: fields.comment shown as an array, user/groups as
//     an object, Webhook.expirationDate as a string). Schema defaults are not
//     checked against their enums either when the document itself is loaded
//     (e.g. classification-levels' status has default "" outside its enum);
//     that concerns the document, not responses.
//   - "date-time" accepts Jira's real offset form "+0000" besides RFC 3339's
//     "+00:00": every Jira timestamp (created, updated, …) is written that way,
//     and the document declares them date-time.
//   - IssueBean.fields / renderedFields values may be null (see below).
//   - Bodiless answers (entity property PUT 200/201, transition POST 204) are
//     validated for status only: the document gives them an application/json
//     content with an empty schema, while Jira sends no body.
func TestConformance(t *testing.T) {
	shared := os.Getenv("SWITCHYARD_SHARED")
	if shared == "" {
		t.Skip("SWITCHYARD_SHARED not set: the OpenAPI document lives in ../shared")
	}
	docPath := filepath.Join(shared, "jira", "jira-cloud-platform.v3.openapi.json")
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("read %s: %v", docPath, err)
	}
	// Resolving the whole document takes ~20 s under -race; keep the paths
	// tested here and the schemas they reach. The kept schemas are unchanged.
	raw, err = pruneSpec(raw, conformancePaths)
	if err != nil {
		t.Fatalf("prune %s: %v", docPath, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load %s: %v", docPath, err)
	}
	for _, p := range conformancePaths {
		if doc.Paths.Value(p) == nil {
			t.Fatalf("the OpenAPI document has no path %s any more", p)
		}
	}

	// Jira writes unset issue fields as null ("assignee": null), but the
	// document's free-form field maps allow any value except null (OpenAPI 3.0
	// needs nullable: true). Allow null there, and only there.
	for _, name := range []string{"IssueBean"} {
		for _, prop := range []string{"fields", "renderedFields"} {
			ap := doc.Components.Schemas[name].Value.Properties[prop].Value.AdditionalProperties.Schema
			if ap == nil || ap.Value == nil {
				t.Fatalf("%s.%s has no additionalProperties schema any more: revisit this exclusion", name, prop)
			}
			ap.Value.Nullable = true
		}
	}

	s := newTestSim(t, Options{GenerateOptions: GenerateOptions{Seed: 11, Projects: 4, Issues: 150}})
	doc.Servers = openapi3.Servers{{URL: s.ts.URL}}
	// The document is not validated as a whole: besides its example defects it
	// has conflicting path templates (field/{id} vs field/{fieldId}). Routing and
	// response schemas are what matter here.
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	fx := conformanceFixtures(t, s)
	oauth := oauthBearer(t, s)

	jiraDateTime := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$`)
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("date-time", openapi3.NewCallbackValidator(func(v string) error {
				if !jiraDateTime.MatchString(v) {
					return fmt.Errorf("%q is not a date-time", v)
				}
				return nil
			})),
		},
	}

	type tc struct {
		name, method, path string
		body               any
		status             int
		gateway            bool // call through /ex/jira/{cloudId} with an OAuth token
		noBody             bool // status only (see the exclusions above)
	}
	cases := []tc{
		{"myself", "GET", "/rest/api/3/myself", nil, 200, false, false},
		{"field list (JSM fields by schema.custom)", "GET", "/rest/api/3/field", nil, 200, false, false},
		{"project statuses", "GET", "/rest/api/3/project/" + fx.project + "/statuses", nil, 200, false, false},
		{"users search", "GET", "/rest/api/3/users/search?startAt=0&maxResults=5", nil, 200, false, false},
		{"user groups", "GET", "/rest/api/3/user/groups?accountId=" + fx.account, nil, 200, false, false},
		{"group bulk", "GET", "/rest/api/3/group/bulk?maxResults=3", nil, 200, false, false},
		{"group member", "GET", "/rest/api/3/group/member?groupId=" + fx.group + "&includeInactiveUsers=true&maxResults=5", nil, 200, false, false},
		{"application roles", "GET", "/rest/api/3/applicationrole", nil, 200, false, false},
		{"project search", "GET", "/rest/api/3/project/search?maxResults=2&expand=lead,description,issueTypes", nil, 200, false, false},
		{"project roles", "GET", "/rest/api/3/project/" + fx.project + "/role", nil, 200, false, false},
		{"project role", "GET", "/rest/api/3/project/" + fx.project + "/role/" + fx.role, nil, 200, false, false},
		{"project permission scheme", "GET", "/rest/api/3/project/" + fx.project + "/permissionscheme", nil, 200, false, false},
		{"permission scheme grants", "GET", "/rest/api/3/permissionscheme/" + fx.scheme + "?expand=permissions", nil, 200, false, false},
		{"issue security level scheme", "GET", "/rest/api/3/project/" + fx.secProject + "/issuesecuritylevelscheme", nil, 200, false, false},
		{"security level members", "GET", "/rest/api/3/issuesecurityschemes/level/member?schemeId=" + fx.secScheme, nil, 200, false, false},
		{"security scheme members", "GET", "/rest/api/3/issuesecurityschemes/" + fx.secScheme + "/members", nil, 200, false, false},
		{"search jql ids", "POST", "/rest/api/3/search/jql", map[string]any{"jql": "project = " + fx.project + " ORDER BY updated ASC, id ASC", "maxResults": 5}, 200, false, false},
		{"search jql fields", "POST", "/rest/api/3/search/jql", map[string]any{"jql": "project = " + fx.project, "fields": []string{"*all"}, "expand": "renderedFields", "maxResults": 3}, 200, false, false},
		{"search jql GET", "GET", "/rest/api/3/search/jql?jql=" + url.QueryEscape("updated >= 0") + "&maxResults=2&fields=summary,updated", nil, 200, false, false},
		{"search jql bad", "POST", "/rest/api/3/search/jql", map[string]any{"jql": "nosuchfield = 1"}, 400, false, false},
		{"approximate count", "POST", "/rest/api/3/search/approximate-count", map[string]any{"jql": "project = " + fx.project}, 200, false, false},
		{"bulkfetch", "POST", "/rest/api/3/issue/bulkfetch", map[string]any{"issueIdsOrKeys": []string{fx.issue, "NOPE-1"}, "fields": []string{"*all"}}, 200, false, false},
		{"issue", "GET", "/rest/api/3/issue/" + fx.issue, nil, 200, false, false},
		{"issue not found", "GET", "/rest/api/3/issue/NOPE-999", nil, 404, false, false},
		{"comments", "GET", "/rest/api/3/issue/" + fx.commented + "/comment?startAt=0&maxResults=5", nil, 200, false, false},
		{"attachment", "GET", "/rest/api/3/attachment/" + fx.attachment, nil, 200, false, false},
		{"audit records", "GET", "/rest/api/3/auditing/record?offset=0&limit=10", nil, 200, false, false},
		{"add comment", "POST", "/rest/api/3/issue/" + fx.issue + "/comment", map[string]any{
			"body":       json.RawMessage(`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Approved by the runbook."}]}]}`),
			"properties": []any{map[string]any{"key": "switchyard", "value": map[string]any{"run": "r1"}}},
		}, 201, false, false},
		{"comment property put", "PUT", "/rest/api/3/comment/" + fx.comment + "/properties/switchyard.test", map[string]any{"n": 1}, 201, false, true},
		{"comment property get", "GET", "/rest/api/3/comment/" + fx.comment + "/properties/switchyard.test", nil, 200, false, false},
		{"issue property put", "PUT", "/rest/api/3/issue/" + fx.issue + "/properties/switchyard.run", map[string]any{"state": "done"}, 201, false, true},
		{"issue property get", "GET", "/rest/api/3/issue/" + fx.issue + "/properties/switchyard.run", nil, 200, false, false},
		{"transitions", "GET", "/rest/api/3/issue/" + fx.issue + "/transitions", nil, 200, false, false},
		{"transition", "POST", "/rest/api/3/issue/" + fx.issue + "/transitions", map[string]any{"transition": map[string]any{"id": fx.transition}}, 204, false, true},
		{"webhook register", "POST", "/rest/api/3/webhook", map[string]any{"url": "http://127.0.0.1:1/hook", "webhooks": []any{map[string]any{"events": []string{"jira:issue_created"}, "jqlFilter": "project = " + fx.project}}}, 200, true, false},
		{"webhook list", "GET", "/rest/api/3/webhook", nil, 200, true, false},
		{"webhook refresh", "PUT", "/rest/api/3/webhook/refresh", map[string]any{"webhookIds": []int64{1}}, 200, true, false},
		{"webhook delete", "DELETE", "/rest/api/3/webhook", map[string]any{"webhookIds": []int64{1}}, 202, true, true},
		{"myself via gateway", "GET", "/rest/api/3/myself", nil, 200, true, false},
		{"attachment content", "GET", "/rest/api/3/attachment/content/" + fx.attachment, nil, 200, false, false},
		{"issue comments via gateway", "GET", "/rest/api/3/issue/" + fx.commented + "/comment", nil, 200, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rd io.Reader
			var raw []byte
			if c.body != nil {
				raw, _ = json.Marshal(c.body)
				rd = bytes.NewReader(raw)
			}
			target := s.ts.URL + c.path
			if c.gateway {
				target = s.ts.URL + "/ex/jira/" + s.srv.Options().CloudID + c.path
			}
			req, _ := http.NewRequest(c.method, target, rd)
			if c.body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			if c.gateway {
				req.Header.Set("Authorization", "Bearer "+oauth)
			} else {
				req.SetBasicAuth(s.srv.AdminEmail(), s.srv.Options().AdminToken)
			}
			resp, err := s.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.noBody {
				if len(body) != 0 {
					t.Fatalf("expected no body, got %s", body)
				}
				return
			}
			// Route against the spec's own path (the gateway prefix is not in it).
			specReq, _ := http.NewRequest(c.method, s.ts.URL+c.path, bytes.NewReader(raw))
			if c.body != nil {
				specReq.Header.Set("Content-Type", "application/json")
			}
			route, params, err := router.FindRoute(specReq)
			if err != nil {
				t.Fatalf("no route in the OpenAPI document for %s %s: %v", c.method, c.path, err)
			}
			validateAgainst(t, route, params, specReq, resp, body, opts)
		})
	}
}

func validateAgainst(t *testing.T, route *routers.Route, params map[string]string, req *http.Request, resp *http.Response, body []byte, opts *openapi3filter.Options) {
	t.Helper()
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		msg := err.Error()
		if len(msg) > 4000 {
			msg = msg[:4000] + "…"
		}
		t.Fatalf("%s %s: response does not conform: %s\nbody: %.1500s", req.Method, req.URL.Path, msg, body)
	}
}

// conformancePaths are the document's templates for the endpoints above.
var conformancePaths = []string{
	"/rest/api/3/myself", "/rest/api/3/field", "/rest/api/3/project/{projectIdOrKey}/statuses", "/rest/api/3/users/search", "/rest/api/3/user/groups", "/rest/api/3/group/bulk",
	"/rest/api/3/group/member", "/rest/api/3/applicationrole", "/rest/api/3/project/search",
	"/rest/api/3/project/{projectIdOrKey}/role", "/rest/api/3/project/{projectIdOrKey}/role/{id}",
	"/rest/api/3/project/{projectKeyOrId}/permissionscheme", "/rest/api/3/permissionscheme/{schemeId}",
	"/rest/api/3/project/{projectKeyOrId}/issuesecuritylevelscheme", "/rest/api/3/issuesecurityschemes/level/member",
	"/rest/api/3/issuesecurityschemes/{issueSecuritySchemeId}/members", "/rest/api/3/search/jql",
	"/rest/api/3/search/approximate-count", "/rest/api/3/issue/bulkfetch", "/rest/api/3/issue/{issueIdOrKey}",
	"/rest/api/3/issue/{issueIdOrKey}/comment", "/rest/api/3/attachment/{id}", "/rest/api/3/attachment/content/{id}",
	"/rest/api/3/auditing/record", "/rest/api/3/comment/{commentId}/properties/{propertyKey}",
	"/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}", "/rest/api/3/issue/{issueIdOrKey}/transitions",
	"/rest/api/3/webhook", "/rest/api/3/webhook/refresh",
	// Neighbours that share a prefix, so routing cannot pick a wrong template.
	"/rest/api/3/issuesecurityschemes/level", "/rest/api/3/issuesecurityschemes/{id}", "/rest/api/3/search",
}

// pruneSpec keeps the given paths and every component schema they reach
// (transitively); other component kinds are kept whole.
func pruneSpec(raw []byte, keep []string) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	paths, _ := doc["paths"].(map[string]any)
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	if paths == nil || schemas == nil {
		return nil, fmt.Errorf("no paths or component schemas")
	}
	kept := map[string]any{}
	for _, p := range keep {
		if v, ok := paths[p]; ok {
			kept[p] = v
		}
	}
	doc["paths"] = kept
	reach := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok && strings.HasPrefix(ref, "#/components/schemas/") {
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				if !reach[name] {
					reach[name] = true
					walk(schemas[name])
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(kept)
	for k, v := range comps {
		if k != "schemas" {
			walk(v)
		}
	}
	for name := range schemas {
		if !reach[name] {
			delete(schemas, name)
		}
	}
	return json.Marshal(doc)
}

type fixtures struct {
	account, group, project, role, scheme, secProject, secScheme string
	issue, commented, comment, attachment, transition            string
}

// conformanceFixtures picks real ids from the generated world.
func conformanceFixtures(t *testing.T, s *testSim) fixtures {
	t.Helper()
	w := s.srv.World()
	admin := w.AdminAccountID()
	w.RLock()
	defer w.RUnlock()
	var f fixtures
	f.account = admin
	for _, g := range w.Groups {
		if len(g.Members) > 1 {
			f.group = g.ID
			break
		}
	}
	p := w.Projects[0]
	f.project, f.role, f.scheme = p.Key, p.Roles[0].ID, p.PermissionSchemeID
	for _, p := range w.Projects {
		if p.SecuritySchemeID != "" && len(p.SecurityLevels) > 0 {
			f.secProject, f.secScheme = p.Key, p.SecuritySchemeID
			break
		}
	}
	for _, is := range w.Issues {
		if !w.CanSeeLocked(admin, is, nil) {
			continue
		}
		if f.issue == "" && is.ProjectID == p.ID {
			f.issue = is.Key
		}
		if f.commented == "" && len(is.Comments) > 0 && w.CanSeeLocked(admin, is, is.Comments[0]) {
			f.commented, f.comment = is.Key, is.Comments[0].ID
		}
		if f.attachment == "" && len(is.Attachments) > 0 {
			f.attachment = is.Attachments[0].ID
		}
	}
	is := w.IssueByKey(f.issue)
	v := &view{s: s.srv, w: w, c: caller{AccountID: admin}}
	if ts := v.transitions(is); len(ts) > 0 {
		f.transition = ts[0].id
	}
	for name, v := range map[string]string{"group": f.group, "secProject": f.secProject, "issue": f.issue, "commented": f.commented, "attachment": f.attachment, "transition": f.transition} {
		if v == "" {
			t.Fatalf("the generated world has no %s to test with", name)
		}
	}
	if strings.Contains(f.issue, " ") {
		t.Fatalf("odd key %q", f.issue)
	}
	return f
}
