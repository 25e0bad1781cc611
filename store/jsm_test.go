package store

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"switchyard"
)

func TestJSMReplaceAndRead(t *testing.T) { eachDriver(t, testJSMReplaceAndRead) }

func testJSMReplaceAndRead(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	rt := func(id, name, it string) switchyard.RequestType {
		return switchyard.RequestType{ID: id, Name: name, IssueTypeID: it}
	}
	steps := []struct {
		name      string
		orgs      []switchyard.Organization
		desks     []switchyard.ServiceDesk
		wantOrgs  []switchyard.Organization
		wantDesks []switchyard.ServiceDesk
		wantRT    []DeskRequestType
		wantOfU1  []string
	}{
		{
			name: "first",
			orgs: []switchyard.Organization{
				{ID: "2", Name: "Finance", Members: []string{"u2", "u1", "u1"}}, // duplicate member kept once
				{ID: "1", Name: "IT", Members: []string{"u1"}},
				{ID: "3", Name: "Empty"},
			},
			desks: []switchyard.ServiceDesk{
				{ID: "10", ProjectID: "100", ProjectKey: "ITSM", Organizations: []string{"2", "1", "1"},
					RequestTypes: []switchyard.RequestType{rt("b", "Reset MFA", "7"), rt("a", "New laptop", "8")}},
				{ID: "11", ProjectID: "101", ProjectKey: "HR"},
			},
			wantOrgs: []switchyard.Organization{
				{ID: "1", Name: "IT", Members: []string{"u1"}},
				{ID: "2", Name: "Finance", Members: []string{"u1", "u2"}},
				{ID: "3", Name: "Empty", Members: []string{}},
			},
			wantDesks: []switchyard.ServiceDesk{
				{ID: "10", ProjectID: "100", ProjectKey: "ITSM", Organizations: []string{"1", "2"}},
				{ID: "11", ProjectID: "101", ProjectKey: "HR", Organizations: []string{}},
			},
			wantRT: []DeskRequestType{
				{RequestType: rt("a", "New laptop", "8"), DeskID: "10", ProjectID: "100"},
				{RequestType: rt("b", "Reset MFA", "7"), DeskID: "10", ProjectID: "100"},
			},
			wantOfU1: []string{"1", "2"},
		},
		{
			// Fewer rows: what is gone from Jira is gone from the store, a
			// renamed request type reads back renamed.
			name: "fewer",
			orgs: []switchyard.Organization{{ID: "2", Name: "Finance Dept", Members: []string{"u2"}}},
			desks: []switchyard.ServiceDesk{
				{ID: "10", ProjectID: "100", ProjectKey: "ITSM", Organizations: []string{"2"},
					RequestTypes: []switchyard.RequestType{rt("b", "Reset MFA or passkey", "9")}},
			},
			wantOrgs:  []switchyard.Organization{{ID: "2", Name: "Finance Dept", Members: []string{"u2"}}},
			wantDesks: []switchyard.ServiceDesk{{ID: "10", ProjectID: "100", ProjectKey: "ITSM", Organizations: []string{"2"}}},
			wantRT:    []DeskRequestType{{RequestType: rt("b", "Reset MFA or passkey", "9"), DeskID: "10", ProjectID: "100"}},
			wantOfU1:  nil,
		},
		{
			name:     "none",
			wantOfU1: nil,
		},
	}
	for _, s := range steps {
		before, err := db.IdentityVersion(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.ReplaceOrganizations(ctx, "c", s.orgs); err != nil {
			t.Fatalf("%s: replace organizations: %v", s.name, err)
		}
		if err := db.ReplaceServiceDesks(ctx, "c", s.desks); err != nil {
			t.Fatalf("%s: replace service desks: %v", s.name, err)
		}
		if after, _ := db.IdentityVersion(ctx, "c"); after <= before {
			t.Errorf("%s: identity version %d after replace, was %d: caches would not reload", s.name, after, before)
		}
		orgs, err := db.Organizations(ctx, "c")
		if err != nil || !reflect.DeepEqual(orgs, s.wantOrgs) {
			t.Errorf("%s: organizations = %+v, %v; want %+v", s.name, orgs, err, s.wantOrgs)
		}
		desks, err := db.ServiceDesks(ctx, "c")
		if err != nil || !reflect.DeepEqual(desks, s.wantDesks) {
			t.Errorf("%s: service desks = %+v, %v; want %+v", s.name, desks, err, s.wantDesks)
		}
		rts, err := db.RequestTypes(ctx, "c")
		if err != nil || !reflect.DeepEqual(rts, s.wantRT) {
			t.Errorf("%s: request types = %+v, %v; want %+v", s.name, rts, err, s.wantRT)
		}
		of, err := db.OrganizationsOfUser(ctx, "c", "u1")
		if err != nil || len(of) != len(s.wantOfU1) || (len(of) > 0 && !reflect.DeepEqual(of, s.wantOfU1)) {
			t.Errorf("%s: organizations of u1 = %v, %v; want %v", s.name, of, err, s.wantOfU1)
		}
	}

	// Another connection's rows are its own.
	if err := db.ReplaceOrganizations(ctx, "d", []switchyard.Organization{{ID: "1", Name: "Other", Members: []string{"u1"}}}); err != nil {
		t.Fatal(err)
	}
	if orgs, _ := db.Organizations(ctx, "c"); len(orgs) != 0 {
		t.Errorf("connection c sees d's organizations: %+v", orgs)
	}

	// The same request type id on two desks is two rows; a repeated id on
	// one desk is upserted (the last one wins), not a constraint failure.
	desks := []switchyard.ServiceDesk{
		{ID: "10", ProjectID: "100", RequestTypes: []switchyard.RequestType{rt("a", "Old", "1"), rt("a", "New", "2")}},
		{ID: "11", ProjectID: "101", RequestTypes: []switchyard.RequestType{rt("a", "HR a", "3")}},
	}
	if err := db.ReplaceServiceDesks(ctx, "c", desks); err != nil {
		t.Fatalf("repeated request type: %v", err)
	}
	want := []DeskRequestType{
		{RequestType: rt("a", "New", "2"), DeskID: "10", ProjectID: "100"},
		{RequestType: rt("a", "HR a", "3"), DeskID: "11", ProjectID: "101"},
	}
	if rts, err := db.RequestTypes(ctx, "c"); err != nil || !reflect.DeepEqual(rts, want) {
		t.Errorf("request types = %+v, %v; want %+v", rts, err, want)
	}

	// Bad input is refused and changes nothing.
	bad := []struct {
		name  string
		orgs  []switchyard.Organization
		desks []switchyard.ServiceDesk
	}{
		{name: "empty org id", orgs: []switchyard.Organization{{ID: ""}}},
		{name: "duplicate org id", orgs: []switchyard.Organization{{ID: "1"}, {ID: "1"}}},
		{name: "desk without project", desks: []switchyard.ServiceDesk{{ID: "10"}}},
		{name: "duplicate desk", desks: []switchyard.ServiceDesk{{ID: "10", ProjectID: "1"}, {ID: "10", ProjectID: "1"}}},
		{name: "empty request type id", desks: []switchyard.ServiceDesk{{ID: "10", ProjectID: "1", RequestTypes: []switchyard.RequestType{{Name: "x"}}}}},
	}
	for _, b := range bad {
		var err error
		if b.orgs != nil {
			err = db.ReplaceOrganizations(ctx, "c", b.orgs)
		} else {
			err = db.ReplaceServiceDesks(ctx, "c", b.desks)
		}
		if !errors.Is(err, switchyard.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", b.name, err)
		}
	}
	if rts, _ := db.RequestTypes(ctx, "c"); !reflect.DeepEqual(rts, want) {
		t.Errorf("refused input changed the request types: %+v", rts)
	}
	if err := db.ReplaceOrganizations(ctx, "", nil); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("empty connection: %v, want ErrInvalid", err)
	}
}
