package syncer

import (
	"fmt"

	"switchyard"
)

// ScopeFrom validates a connection's filters and returns the scope the
// engine applies. Invalid filters are an error naming the bad key and value;
// nothing from them reaches JQL unvalidated.
func ScopeFrom(f switchyard.SyncFilters) (Scope, error) {
	if err := f.Validate(); err != nil {
		return Scope{}, fmt.Errorf("sync filters: %w", err)
	}
	return Scope{
		ProjectsIn:    append([]string(nil), f.Projects.In...),
		ProjectsNotIn: append([]string(nil), f.Projects.NotIn...),
		Clause:        f.JQL(),
		Hash:          f.Hash(),
		Issues:        f.IndexIssues(),
		Comments:      f.IndexComments(),
		Attachments:   f.IndexAttachments(),
	}, nil
}
