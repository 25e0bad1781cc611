package connector

import (
	"encoding/json"
	"testing"

	"switchyard"
)

// TestHolderExpandedObjects: security-level members may name their user or
// group only in an expanded object; the holder must still name them, or the
// member silently loses access.
func TestHolderExpandedObjects(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want switchyard.Holder
	}{
		{`{"type":"user","user":{"accountId":"5b10a2844c20165700ede21g","displayName":"Mia"}}`, switchyard.Holder{Type: "user", Parameter: "5b10a2844c20165700ede21g"}},
		{`{"type":"user","user":{"name":"fred","key":"JIRAUSER10000"}}`, switchyard.Holder{Type: "user", Parameter: "JIRAUSER10000"}},
		{`{"type":"user","parameter":"acc-1","value":"acc-1"}`, switchyard.Holder{Type: "user", Parameter: "acc-1"}},
		{`{"type":"group","group":{"name":"jira-admins","groupId":"g-1"}}`, switchyard.Holder{Type: "group", Parameter: "g-1"}},
		{`{"type":"group","group":{"name":"jira-admins"}}`, switchyard.Holder{Type: "group", Parameter: "jira-admins"}},
		{`{"type":"group","parameter":"jira-core-users","value":"9c55"}`, switchyard.Holder{Type: "group", Parameter: "9c55"}},
		{`{"type":"assignee"}`, switchyard.Holder{Type: "assignee"}},
	} {
		var h holderJSON
		if err := json.Unmarshal([]byte(tc.raw), &h); err != nil {
			t.Fatal(err)
		}
		if got := h.holder(); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.raw, got, tc.want)
		}
	}
}
