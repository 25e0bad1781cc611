package index

import (
	"encoding/json"
	"strings"
	"testing"

	"switchyard"
)

// A viewer's cached filter must change with what a customer's filter reads:
// the customer flag and its organizations (a membership change at the next
// identity sync must not be served a stale filter).
func TestViewerKeyCustomer(t *testing.T) {
	base := Viewer{AccountID: "qm:1", Known: true, Active: true}
	cust := base
	cust.Customer = true
	org1 := cust
	org1.Organizations = []string{"1"}
	org2 := cust
	org2.Organizations = []string{"2"}
	keys := map[[32]byte]string{}
	for name, v := range map[string]Viewer{"agent": base, "customer": cust, "customer in 1": org1, "customer in 2": org2} {
		k := viewerKey(v)
		if other, dup := keys[k]; dup {
			t.Fatalf("viewers %q and %q share a filter cache key", name, other)
		}
		keys[k] = name
	}
}

// A customer's filter: nothing without service desks; with one, internal
// terms are never among its visibility terms while an agent's include them.
func TestCustomerFilter(t *testing.T) {
	p := &Permissions{Projects: []switchyard.Project{{ID: "10000", Key: "ITSM",
		Browse: []switchyard.Holder{{Type: switchyard.HolderSDCustomerPortal}, {Type: switchyard.HolderAnyone}}}}}
	cust := Viewer{AccountID: "qm:1", Known: true, Active: true, Customer: true}
	if _, ok := permissionFilter("c", cust, p); ok {
		t.Fatal("a customer sees something although no project is a service desk (even with an anyone grant)")
	}
	p.ServiceDesks = map[string][]string{"10000": {"1"}}
	q, ok := permissionFilter("c", cust, p)
	if !ok {
		t.Fatal("a customer of a service desk sees nothing at all")
	}
	key, _ := filterKey(q)
	agent := Viewer{AccountID: "a1", Known: true, Active: true}
	qa, _ := permissionFilter("c", agent, p)
	keyA, _ := filterKey(qa)
	if key == keyA {
		t.Fatal("customer and agent filters are the same")
	}
	if js := mustJSON(t, q); containsTerm(js, internalTerm(visNone)) {
		t.Fatalf("customer filter admits internal notes: %s", js)
	}
	if js := mustJSON(t, qa); !containsTerm(js, internalTerm(visNone)) {
		t.Fatalf("agent filter does not admit internal notes: %s", js)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func containsTerm(js, term string) bool { return strings.Contains(js, `"`+term+`"`) }
