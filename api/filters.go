package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"switchyard"
)

// filtersInput mirrors switchyard.SyncFilters with dates as strings, so that a
// bad date is reported with its field name (the JSON decoder would report a
// custom unmarshaller's error without one).
type filtersInput struct {
	Projects struct {
		In    []string `json:"in"`
		NotIn []string `json:"not_in"`
	} `json:"projects"`
	Created dateRangeInput `json:"created"`
	Updated dateRangeInput `json:"updated"`
	Index   struct {
		Issues      *bool `json:"issues"`
		Comments    *bool `json:"comments"`
		Attachments *bool `json:"attachments"`
	} `json:"index"`
}

type dateRangeInput struct {
	After  *string `json:"after"`
	Before *string `json:"before"`
}

func (in filtersInput) filters() (switchyard.SyncFilters, error) {
	var f switchyard.SyncFilters
	f.Projects.In, f.Projects.NotIn = in.Projects.In, in.Projects.NotIn
	f.Index.Issues, f.Index.Comments, f.Index.Attachments = in.Index.Issues, in.Index.Comments, in.Index.Attachments
	for _, d := range []struct {
		field string
		in    *string
		out   **switchyard.Date
	}{
		{"created.after", in.Created.After, &f.Created.After}, {"created.before", in.Created.Before, &f.Created.Before},
		{"updated.after", in.Updated.After, &f.Updated.After}, {"updated.before", in.Updated.Before, &f.Updated.Before},
	} {
		if d.in == nil {
			continue
		}
		v, err := switchyard.ParseDate(*d.in)
		if err != nil {
			return f, switchyard.FieldErrorf(switchyard.ErrInvalid, d.field, "%v", err)
		}
		*d.out = &v
	}
	if err := f.Validate(); err != nil {
		return f, err
	}
	return f, nil
}

func parseStoredFilters(raw json.RawMessage) (switchyard.SyncFilters, error) {
	var f switchyard.SyncFilters
	if err := json.Unmarshal(raw, &f); err != nil {
		return f, fmt.Errorf("stored filters: %w", err)
	}
	return f, f.Validate()
}

// webhookJQL is the JQL filter of the dynamic webhooks: the synced
// projects. Jira's webhook JQL supports only a few operators and only existing
// project keys, so with no project filter the projects stored by the last
// sync are listed ("" before the first sync); date filters are left to the
// refresh, which drops out-of-scope issues.
func (s *Server) webhookJQL(ctx context.Context, conn string) (string, error) {
	f := s.effectiveFilters(ctx, conn)
	if len(f.Projects.In) > 0 {
		return (switchyard.SyncFilters{Projects: switchyard.ProjectFilter{In: f.Projects.In}}).JQL(), nil
	}
	ps, err := s.opts.Store.Projects(ctx, conn)
	if err != nil {
		return "", err
	}
	var keys []string
	for _, p := range ps {
		if !slices.Contains(f.Projects.NotIn, p.Key) {
			keys = append(keys, p.Key)
		}
	}
	if len(keys) == 0 {
		return "", nil
	}
	return (switchyard.SyncFilters{Projects: switchyard.ProjectFilter{In: keys}}).JQL(), nil
}
