package api

import (
	"strings"

	"switchyard"
)

// Scopes an API key can carry.
const (
	ScopeTicketIngest    = "ticket:ingest"
	ScopeSearchRead      = "search:read"
	ScopeApprovalsDecide = "approvals:decide"
	ScopeSyncAdmin       = "sync:admin"
	ScopeConfigAdmin     = "config:admin"
	ScopeAuditRead       = "audit:read"
)

// AllScopes lists every scope; an admin key carries all of them.
var AllScopes = []string{ScopeTicketIngest, ScopeSearchRead, ScopeApprovalsDecide, ScopeSyncAdmin, ScopeConfigAdmin, ScopeAuditRead}

// ValidateScopes checks scope names, naming the first unknown one.
func ValidateScopes(scopes []string) error {
	if len(scopes) == 0 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "scopes", "at least one scope is required (one of %s)", strings.Join(AllScopes, ", "))
	}
	for _, s := range scopes {
		ok := false
		for _, a := range AllScopes {
			ok = ok || s == a
		}
		if !ok {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, "scopes", "%q is not one of %s", s, strings.Join(AllScopes, ", "))
		}
	}
	return nil
}
