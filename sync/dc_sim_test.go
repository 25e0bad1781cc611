package syncer

import (
	"context"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
)

// TestSimDataCenterFidelity syncs a Data Center simulator that answers like a
// real site: served under /jira, groups/picker capped at 20 with more groups
// than that (the ones carrying grants past the cap), and issue security
// schemes. Without the level-members endpoint (the Data Center reference has
// none) the identity sync still succeeds, warns naming each scheme, and hides
// the issues at those levels from everyone; with it, search equals the oracle
// exactly. Both converge to /_sim/state, before and after permission changes.
func TestSimDataCenterFidelity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members bool
		dc      jirasim.DCOptions
	}{
		{"9.x documented endpoints only", false, jirasim.DCOptions{}},
		{"10.3 user list, user search capped", false, jirasim.DCOptions{UserListEndpoint: true, UserSearchLimit: 5}},
		{"with a level-members endpoint", true, jirasim.DCOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc := tc.dc
			dc.ContextPath, dc.LevelMembersEndpoint = "/jira", tc.members
			s := startSim(t, jirasim.Options{
				GenerateOptions: jirasim.GenerateOptions{Seed: 13, Projects: 5, Issues: 60, Mode: switchyard.ModeDataCenter, ExtraGroups: 30},
				DataCenter:      dc,
			})
			if !strings.HasSuffix(s.base, "/jira") {
				t.Fatalf("site URL %s lacks the context path", s.base)
			}
			st := s.state()
			checkGrantsPastPickerCap(t, st, jirasim.DefaultPickerLimit)

			h := newHarness(t, s.jira(4), allScope(), Settings{Concurrency: 4, PageSize: 50, Overlap: time.Minute})
			h.conn.Mode = switchyard.ModeDataCenter
			h.reconfigure(h.conn.Scope, h.conn.Settings)
			h.idx.Source = NewPermissionSource(h.db)

			rs := h.sync(false)
			h.checkConverged(s.expected(h.conn.Scope))
			checkIdentityCounts(t, h, st)
			hidden := checkLevelWarnings(t, st, rs, tc.members)
			checkSearchEqualsOracleFn(t, s, h, "after the full sync", hidden)

			mutatePermissions(t, s, rand.New(rand.NewPCG(13, 99)))
			if rs = h.sync(false); rs.Full {
				t.Fatalf("second run was full (%s); want incremental", rs.Reason)
			}
			h.checkConverged(s.expected(h.conn.Scope))
			st = s.state()
			checkIdentityCounts(t, h, st)
			hidden = checkLevelWarnings(t, st, rs, tc.members)
			checkSearchEqualsOracleFn(t, s, h, "after permission changes and one incremental sync", hidden)
		})
	}
}

// checkGrantsPastPickerCap makes sure the world is one where a capped picker
// page matters: some group sorting past the cap is named by a grant, a role
// or a security level.
func checkGrantsPastPickerCap(t *testing.T, st jirasim.State, limit int) {
	t.Helper()
	names := make([]string, 0, len(st.Groups))
	byID := map[string]string{}
	for _, g := range st.Groups {
		names = append(names, strings.ToLower(g.Name))
		byID[g.GroupID] = strings.ToLower(g.Name)
	}
	sort.Strings(names)
	if len(names) <= limit {
		t.Fatalf("%d groups, not more than the picker cap %d", len(names), limit)
	}
	past := map[string]bool{}
	for _, n := range names[limit:] {
		past[n] = true
	}
	for _, p := range st.Projects {
		hs := p.Browse
		for _, l := range p.SecurityLevels {
			hs = append(hs, l.Members...)
		}
		for _, h := range hs {
			if h.Type == switchyard.HolderGroup && h.Parameter != nil && past[byID[*h.Parameter]] {
				return
			}
		}
		for _, r := range p.Roles {
			for _, g := range r.Actors.Groups {
				if past[byID[g]] {
					return
				}
			}
		}
	}
	t.Fatal("no grant names a group past the picker cap; the test proves nothing")
}

func checkIdentityCounts(t *testing.T, h *harness, st jirasim.State) {
	t.Helper()
	c, err := h.db.Counts(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if int(c.Users) != len(st.Users) || int(c.Groups) != len(st.Groups) || int(c.Projects) != len(st.Projects) {
		t.Fatalf("stored users/groups/projects = %d/%d/%d, simulator has %d/%d/%d",
			c.Users, c.Groups, c.Projects, len(st.Users), len(st.Groups), len(st.Projects))
	}
}

// checkLevelWarnings checks the run warned once per security scheme when the
// site does not tell level members (and never otherwise), and returns which
// issues must then be hidden from everyone.
func checkLevelWarnings(t *testing.T, st jirasim.State, rs RunStats, members bool) func(jirasim.StateIssue) bool {
	t.Helper()
	var warned, schemes int
	for _, p := range st.Projects {
		if len(p.SecurityLevels) == 0 {
			continue
		}
		schemes++
		for _, w := range rs.Warnings {
			if strings.Contains(w, "of project "+p.Key+":") && strings.Contains(w, "fail closed") {
				warned++
			}
		}
	}
	if schemes == 0 {
		t.Fatal("no project has a security scheme; the test proves nothing")
	}
	if members {
		if warned != 0 {
			t.Fatalf("warnings %v although the site tells level members", rs.Warnings)
		}
		return nil
	}
	if warned != schemes {
		t.Fatalf("%d warnings naming a security scheme for %d schemes: %v", warned, schemes, rs.Warnings)
	}
	levelled := 0
	for _, is := range st.Issues {
		if is.SecurityLevelID != nil {
			levelled++
		}
	}
	if levelled == 0 {
		t.Fatal("no issue has a security level; the test proves nothing")
	}
	return func(is jirasim.StateIssue) bool { return is.SecurityLevelID != nil }
}
