package syncer

import (
	"context"
	"errors"
	"fmt"

	"switchyard"
	"switchyard/connector"
)

// Jira Service Management in the sync: the customers stage stores the
// organizations with their members and the service desks with the
// organizations added to them; issue reads carry the request type,
// participants and organizations fields in the same requests as the rest.

// StageCustomers stores JSM organizations (with members) and service desks.
const StageCustomers = "customers"

// JSMJira is implemented by a Jira that serves Service Management. A Jira
// without it (or a site without JSM) has no service desks.
type JSMJira interface {
	ServiceDesks(ctx context.Context) ([]switchyard.ServiceDesk, error)
	Organizations(ctx context.Context) ([]switchyard.Organization, error)
}

// JSMStore is implemented by stores that keep JSM identity.
type JSMStore interface {
	ReplaceOrganizations(ctx context.Context, conn string, orgs []switchyard.Organization) error
	ReplaceServiceDesks(ctx context.Context, conn string, desks []switchyard.ServiceDesk) error
}

// jsmClient is the connector's JSM method set.
type jsmClient interface {
	DiscoverJSMFields(ctx context.Context) (connector.JSMFields, error)
	ServiceDesks(ctx context.Context) ([]switchyard.ServiceDesk, error)
	Organizations(ctx context.Context) ([]switchyard.Organization, error)
	RequestTypes(ctx context.Context, deskID string) ([]switchyard.RequestType, error)
}

var _ jsmClient = (*connector.Client)(nil)

func (j *jiraAdapter) ServiceDesks(ctx context.Context) ([]switchyard.ServiceDesk, error) {
	if c, ok := j.client().(jsmClient); ok {
		return c.ServiceDesks(ctx)
	}
	return nil, nil
}

func (j *jiraAdapter) RequestTypes(ctx context.Context, deskID string) ([]switchyard.RequestType, error) {
	if c, ok := j.client().(jsmClient); ok {
		return c.RequestTypes(ctx, deskID)
	}
	return nil, nil
}

func (j *jiraAdapter) Organizations(ctx context.Context) ([]switchyard.Organization, error) {
	if c, ok := j.client().(jsmClient); ok {
		return c.Organizations(ctx)
	}
	return nil, nil
}

// ensureJSMFields discovers the site's JSM field ids once per client, before
// its first issue read, so every read includes them (a rebuilt client, after
// new picker fields were learned, discovers them again).
func (j *jiraAdapter) ensureJSMFields(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.jsmFor == j.cl {
		return nil
	}
	c, ok := j.cl.(jsmClient)
	if !ok {
		j.jsmFor = j.cl
		return nil
	}
	if _, err := c.DiscoverJSMFields(ctx); err != nil {
		return fmt.Errorf("discover JSM fields: %w", err)
	}
	j.jsmFor = j.cl
	return nil
}

func (a storeAdapter) ReplaceOrganizations(ctx context.Context, conn string, v []switchyard.Organization) error {
	return a.db.ReplaceOrganizations(ctx, conn, v)
}

func (a storeAdapter) ReplaceServiceDesks(ctx context.Context, conn string, v []switchyard.ServiceDesk) error {
	return a.db.ReplaceServiceDesks(ctx, conn, v)
}

func denied(err error) bool {
	return errors.Is(err, switchyard.ErrForbidden) || errors.Is(err, switchyard.ErrUnauthorized)
}

// customers is the JSM identity stage.
func (s *session) customers(ctx context.Context, st *StageStats) error {
	if s.pre.desks == nil {
		return nil // this Jira serves no JSM
	}
	desks, err := s.pre.desks.get(ctx)
	if denied(err) {
		// Fail closed: without its service desks no customer sees a request.
		s.warn("service desks not readable (%v): portal customers see no requests; make the account a service desk agent (OAuth: read:servicedesk-request)", err)
		desks, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("fetch service desks: %w", err)
	}
	orgs, err := s.pre.orgs.get(ctx)
	if denied(err) {
		s.warn("organizations not readable (%v): customers reach requests only as reporter or participant; make the account a JSM admin or agent (OAuth: manage:servicedesk-customer)", err)
		orgs, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("fetch organizations: %w", err)
	}
	if err := s.deskRequestTypes(ctx, desks); err != nil {
		return err
	}
	st.Fetched = len(desks) + len(orgs)
	js, ok := s.e.store.(JSMStore)
	if !ok {
		return nil
	}
	before, err := s.storedRequestTypes(ctx)
	if err != nil {
		return err
	}
	if err := js.ReplaceOrganizations(ctx, s.c.Name, orgs); err != nil {
		return fmt.Errorf("store organizations: %w", err)
	}
	if err := js.ReplaceServiceDesks(ctx, s.c.Name, desks); err != nil {
		return fmt.Errorf("store service desks: %w", err)
	}
	if err := s.renameRequestTypes(ctx, before, desks); err != nil {
		return err
	}
	st.Written = st.Fetched
	s.advance(st.Fetched)
	return nil
}
