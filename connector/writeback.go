package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"switchyard"
)

// CommentBody is what AddComment writes. Text is plain text, turned into ADF
// on Cloud and wiki markup on Data Center; ADF or Wiki, when set, are sent
// as they are instead.
type CommentBody struct {
	Text       string
	ADF        json.RawMessage
	Wiki       string
	Visibility *switchyard.Visibility // optional group/role restriction
	// Internal makes the comment a JSM internal note (the sd.public.comment
	// property {"internal": true}); customers never see it.
	Internal bool
}

func checkPropertyKey(key string) error {
	if key == "" || len(key) > 255 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "propertyKey", "must be 1 to 255 characters, got %d", len(key))
	}
	return nil
}

// AddComment posts a comment and, when propertyKey is set, stores
// propertyValue as a property of the new comment (write-back uses it to
// recognise its own comments). It is a non-idempotent POST and is never
// retried; callers check FindComment before posting again.
func (c *Client) AddComment(ctx context.Context, issueKey string, body CommentBody, propertyKey string, propertyValue any) (switchyard.Comment, error) {
	if err := checkKey("issueKey", issueKey); err != nil {
		return switchyard.Comment{}, err
	}
	if body.Text == "" && len(body.ADF) == 0 && body.Wiki == "" {
		return switchyard.Comment{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "body", "is empty")
	}
	req := map[string]any{}
	if c.dc() {
		w := body.Wiki
		if w == "" {
			w = textToWiki(body.Text)
		}
		req["body"] = w
	} else {
		adf := body.ADF
		if len(adf) == 0 {
			adf = textToADF(body.Text)
		} else if !json.Valid(adf) {
			return switchyard.Comment{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "body.adf", "is not valid JSON")
		}
		req["body"] = adf
	}
	if body.Visibility != nil {
		req["visibility"] = body.Visibility
	}
	var props []map[string]any
	if body.Internal {
		props = append(props, map[string]any{"key": PropPublicComment, "value": map[string]bool{"internal": true}})
	}
	if propertyKey != "" {
		if err := checkPropertyKey(propertyKey); err != nil {
			return switchyard.Comment{}, err
		}
		props = append(props, map[string]any{"key": propertyKey, "value": propertyValue})
	}
	if len(props) > 0 {
		req["properties"] = props
	}
	var cj commentJSON
	p := c.v() + "/issue/" + url.PathEscape(issueKey) + "/comment"
	if err := c.do(ctx, call{endpoint: "POST " + c.v() + "/issue/{issueIdOrKey}/comment"}, http.MethodPost, p, req, &cj); err != nil {
		return switchyard.Comment{}, err
	}
	cm, err := c.comment(cj, "", c.adfOptions(nil))
	if err != nil {
		// The comment is posted: failing here would invite a retry and a
		// second comment. Its echoed body is only not readable.
		c.log.Warn("posted comment's body not converted", "comment", cm.ID, "err", err)
	}
	if body.Internal && c.dc() {
		if err := c.SetCommentProperty(ctx, cm.ID, PropPublicComment, map[string]bool{"internal": true}); err != nil {
			return cm, fmt.Errorf("comment %s posted, not marked internal: %w", cm.ID, err)
		}
	}
	if propertyKey != "" && c.dc() {
		// Data Center ignores properties on create; a PUT is idempotent.
		if err := c.SetCommentProperty(ctx, cm.ID, propertyKey, propertyValue); err != nil {
			return cm, fmt.Errorf("comment %s posted, property not set: %w", cm.ID, err)
		}
	}
	return cm, nil
}

// SetCommentProperty sets one property of a comment.
func (c *Client) SetCommentProperty(ctx context.Context, commentID, key string, value any) error {
	if _, err := strconv.ParseInt(commentID, 10, 64); err != nil {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "commentId", "must be numeric, not %q", commentID)
	}
	if err := checkPropertyKey(key); err != nil {
		return err
	}
	p := c.v() + "/comment/" + commentID + "/properties/" + url.PathEscape(key)
	return c.do(ctx, call{endpoint: "PUT " + c.v() + "/comment/{commentId}/properties/{propertyKey}"}, http.MethodPut, p, value, nil)
}

// CommentProperty reads one property of a comment (ErrNotFound when unset).
func (c *Client) CommentProperty(ctx context.Context, commentID, key string) (json.RawMessage, error) {
	if _, err := strconv.ParseInt(commentID, 10, 64); err != nil {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "commentId", "must be numeric, not %q", commentID)
	}
	if err := checkPropertyKey(key); err != nil {
		return nil, err
	}
	var ep struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	p := c.v() + "/comment/" + commentID + "/properties/" + url.PathEscape(key)
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/comment/{commentId}/properties/{propertyKey}"}, http.MethodGet, p, nil, &ep); err != nil {
		return nil, err
	}
	return ep.Value, nil
}

// FindComment looks through an issue's comments for one whose property key
// satisfies match, so that a write-back interrupted after the POST is not
// posted twice.
func (c *Client) FindComment(ctx context.Context, issueKey, propertyKey string, match func(json.RawMessage) bool) (switchyard.Comment, bool, error) {
	if err := checkKey("issueKey", issueKey); err != nil {
		return switchyard.Comment{}, false, err
	}
	if err := checkPropertyKey(propertyKey); err != nil {
		return switchyard.Comment{}, false, err
	}
	for start := 0; ; {
		q := url.Values{"startAt": {strconv.Itoa(start)}, "maxResults": {strconv.Itoa(c.page(commentPage))}, "expand": {"properties"}}
		var p struct {
			Total    int `json:"total"`
			Comments []struct {
				commentJSON
				Properties []struct {
					Key   string          `json:"key"`
					Value json.RawMessage `json:"value"`
				} `json:"properties"`
			} `json:"comments"`
		}
		path := c.v() + "/issue/" + url.PathEscape(issueKey) + "/comment?" + q.Encode()
		if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/issue/{issueIdOrKey}/comment"}, http.MethodGet, path, nil, &p); err != nil {
			return switchyard.Comment{}, false, err
		}
		for _, cm := range p.Comments {
			var value json.RawMessage
			if cm.Properties != nil {
				for _, pr := range cm.Properties {
					if pr.Key == propertyKey {
						value = pr.Value
					}
				}
			} else {
				// The server ignored expand=properties: ask per comment.
				v, err := c.CommentProperty(ctx, string(cm.ID), propertyKey)
				if err != nil && !errors.Is(err, switchyard.ErrNotFound) {
					return switchyard.Comment{}, false, err
				}
				value = v
			}
			if value != nil && (match == nil || match(value)) {
				out, err := c.comment(cm.commentJSON, "", c.adfOptions(nil))
				return out, err == nil, err
			}
		}
		start += len(p.Comments)
		if len(p.Comments) == 0 || start >= p.Total {
			return switchyard.Comment{}, false, nil
		}
	}
}

// SetIssueProperty stores value (any JSON-encodable) as an issue property.
func (c *Client) SetIssueProperty(ctx context.Context, issueKey, key string, value any) error {
	if err := checkKey("issueKey", issueKey); err != nil {
		return err
	}
	if err := checkPropertyKey(key); err != nil {
		return err
	}
	p := c.v() + "/issue/" + url.PathEscape(issueKey) + "/properties/" + url.PathEscape(key)
	return c.do(ctx, call{endpoint: "PUT " + c.v() + "/issue/{issueIdOrKey}/properties/{propertyKey}"}, http.MethodPut, p, value, nil)
}

// IssueProperty reads one issue property (ErrNotFound when unset).
func (c *Client) IssueProperty(ctx context.Context, issueKey, key string) (json.RawMessage, error) {
	if err := checkKey("issueKey", issueKey); err != nil {
		return nil, err
	}
	if err := checkPropertyKey(key); err != nil {
		return nil, err
	}
	var ep struct {
		Value json.RawMessage `json:"value"`
	}
	p := c.v() + "/issue/" + url.PathEscape(issueKey) + "/properties/" + url.PathEscape(key)
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/issue/{issueIdOrKey}/properties/{propertyKey}"}, http.MethodGet, p, nil, &ep); err != nil {
		return nil, err
	}
	return ep.Value, nil
}

// Transition is a workflow transition available on an issue.
type Transition struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	To   string `json:"to"` // target status name
}

// Transitions lists the transitions the connection may perform on an issue.
func (c *Client) Transitions(ctx context.Context, issueKey string) ([]Transition, error) {
	if err := checkKey("issueKey", issueKey); err != nil {
		return nil, err
	}
	var r struct {
		Transitions []struct {
			ID   json64 `json:"id"`
			Name string `json:"name"`
			To   struct {
				Name string `json:"name"`
			} `json:"to"`
		} `json:"transitions"`
	}
	p := c.v() + "/issue/" + url.PathEscape(issueKey) + "/transitions"
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/issue/{issueIdOrKey}/transitions"}, http.MethodGet, p, nil, &r); err != nil {
		return nil, err
	}
	out := make([]Transition, len(r.Transitions))
	for i, t := range r.Transitions {
		out[i] = Transition{ID: string(t.ID), Name: t.Name, To: t.To.Name}
	}
	return out, nil
}

// DoTransition moves an issue through a transition. Not retried.
func (c *Client) DoTransition(ctx context.Context, issueKey, transitionID string) error {
	if err := checkKey("issueKey", issueKey); err != nil {
		return err
	}
	if transitionID == "" {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "transitionId", "is empty")
	}
	p := c.v() + "/issue/" + url.PathEscape(issueKey) + "/transitions"
	body := map[string]any{"transition": map[string]string{"id": transitionID}}
	return c.do(ctx, call{endpoint: "POST " + c.v() + "/issue/{issueIdOrKey}/transitions"}, http.MethodPost, p, body, nil)
}
